#include "runtime/python_runtime.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "runtime/cpu_budget.h"
#include "runtime/py_ref.h"
#include "runtime/python_error.h"
#include "runtime/python_exit.h"
#include "runtime/python_threads.h"
#include "values/numpy_api.h"

#ifndef PY_OUTLIERS_EXECUTABLE
#error "binding.gyp defines PY_OUTLIERS_EXECUTABLE from scripts/python_config.js"
#endif

namespace py_outliers {
namespace {

PyObject* runtime_helper = nullptr;
NativeRuntimeFacts facts;

// Node loads addons with RTLD_LOCAL, which hides libpython's symbols from numpy's own
// extension modules ("undefined symbol: PyExc_..."; docs/architecture.md, "Loading libpython").
// Re-open the very libpython this addon is linked to with RTLD_GLOBAL; the addon itself stays
// local.
std::string PromoteLibpython() {
  Dl_info where{};
  if (dladdr(reinterpret_cast<void*>(&Py_InitializeFromConfig), &where) == 0 ||
      where.dli_fname == nullptr) {
    return "cannot locate libpython in this process (dladdr failed)";
  }
  facts.libpython = where.dli_fname;
  if (dlopen(where.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD) == nullptr) {
    return std::string("cannot make libpython's symbols global: ") + dlerror();
  }
  return "";
}

// Inside Node, glibc returns numpy's large temporaries to the kernel on every free (page
// faults on each call, ~3.5x slower at 100k elements than plain Python; docs/architecture.md,
// "malloc thresholds"). Pin the thresholds where glibc's own dynamic adjustment ends up in a
// single-threaded process (mmap threshold 32 MiB, its maximum; trim at twice that). Opt out
// with PY_OUTLIERS_MALLOC_TUNING=0. Both must be raised: raising one alone was measured worse.
void TuneMalloc(bool enabled) {
  facts.malloc_tuning = enabled;
  if (!enabled) return;
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
}

// Node opens (or re-opens) fds 0-2 close-on-exec, so a child that Python starts with
// inherited stdio (subprocess's default, os.system, joblib's loky workers) would start with
// them closed: its output vanishes, and loky's workers die. `python` leaves them inheritable,
// as every Unix program does. Node's own child_process is unaffected: libuv sets up each
// child's 0-2 itself (dup2, or clearing close-on-exec for 'inherit'), whatever the flag says.
void LetChildrenInheritStdio() {
  for (int fd = 0; fd <= 2; fd++) {
    const int flags = fcntl(fd, F_GETFD);
    if (flags != -1 && (flags & FD_CLOEXEC) != 0) fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
  }
}

std::string StatusError(const char* what, const PyStatus& status) {
  std::string message = what;
  if (status.func != nullptr) message += std::string(" (") + status.func + ")";
  if (status.err_msg != nullptr) message += std::string(": ") + status.err_msg;
  return message;
}

std::string PythonFailure(const char* what) {
  PythonErrorInfo error = TakePythonError();
  return std::string(what) + ": " + error.traceback;
}

// Why numpy's C-API could not be loaded, with the fix: install numpy, or rebuild against the
// numpy that is there (a build against numpy 1.x cannot load numpy 2.x, nor the reverse).
std::string NumpyFailure() {
  PythonErrorInfo error = TakePythonError();
  PyRef advice = PyRef::Steal(PyObject_CallMethod(runtime_helper, "numpy_failure", "sis",
                                                  PY_OUTLIERS_BUILD_NUMPY, PY_OUTLIERS_PREBUILT,
                                                  (error.type + ": " + error.message).c_str()));
  const char* text = advice ? PyUnicode_AsUTF8(advice.get()) : nullptr;
  if (text == nullptr) return "cannot import numpy: " + TakePythonError().traceback;
  return text;
}

// The headers and the library could disagree (LD_LIBRARY_PATH, a moved interpreter).
std::string CheckLibraryVersion() {
  int major = 0, minor = 0;
  if (std::sscanf(Py_GetVersion(), "%d.%d", &major, &minor) != 2 || major != PY_MAJOR_VERSION ||
      minor != PY_MINOR_VERSION) {
    return std::string("py-outliers was compiled against Python ") + PY_OUTLIERS_BUILD_VERSION +
           " but loaded libpython " + Py_GetVersion() + "; rebuild the addon";
  }
  return "";
}

// Runs on the Python thread. On success returns "" with the GIL held by that thread.
// `executable` is the interpreter to behave as: its path is what makes a venv work
// (docs/architecture.md, "Which Python"): Python's path computation finds pyvenv.cfg next to it,
// so site-packages, sys.prefix and sys.executable are the venv's.
std::string Initialize(const StartSettings& settings) {
  const std::string& executable = settings.executable;
  std::string error = CheckLibraryVersion();
  if (error.empty()) error = PromoteLibpython();
  if (!error.empty()) return error;

  if (access(executable.c_str(), X_OK) != 0) {
    return "the Python interpreter '" + executable +
           "' does not exist (was the venv removed?); set PY_OUTLIERS_PYTHON or rebuild the "
           "addon";
  }
  TuneMalloc(settings.malloc_tuning);
  LetChildrenInheritStdio();

  // Leave the host's locale alone: Python's default pre-configuration calls setlocale() and
  // may coerce LC_CTYPE in the environment of the whole Node process. UTF-8 mode gives
  // Python the same text handling without touching the host.
  PyPreConfig preconfig;
  PyPreConfig_InitPythonConfig(&preconfig);
  preconfig.configure_locale = 0;
  preconfig.utf8_mode = 1;
  PyStatus status = Py_PreInitialize(&preconfig);
  if (PyStatus_Exception(status)) return StatusError("Python pre-initialization failed", status);

  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.install_signal_handlers = 0;  // Ctrl-C stays Node's; SIGPIPE is not set to ignored
  config.parse_argv = 0;               // Node's argv is not Python's
  config.configure_c_stdio = 0;        // do not change the buffering of the host's stdio
  status = PyConfig_SetBytesString(&config, &config.program_name, executable.c_str());
  if (!PyStatus_Exception(status)) status = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  // Never Py_ExitStatusException: it would exit() the Node process.
  if (PyStatus_Exception(status)) return StatusError("Python initialization failed", status);

  // The traceback formatter first, so that every failure below is reported in full.
  if (!LoadTracebackFormatter()) return PythonFailure("cannot import traceback");
  PyObject* sys_path = PySys_GetObject("path");  // borrowed
  PyRef dir = PyRef::Steal(PyUnicode_FromString(settings.package_python_dir.c_str()));
  if (sys_path == nullptr || !dir || PyList_Insert(sys_path, 0, dir.get()) < 0) {
    return PythonFailure("cannot set sys.path");
  }
  runtime_helper = PyImport_ImportModule("py_outliers_runtime");
  if (runtime_helper == nullptr) return PythonFailure("cannot import py_outliers_runtime");
  // The interpreter and venv are checked before numpy is imported, because a venv of
  // another Python version fails that import ("No module named 'numpy'") for the wrong reason.
  PyRef checked = PyRef::Steal(
      PyObject_CallMethod(runtime_helper, "check_environment", "s", PY_OUTLIERS_BUILD_VERSION));
  if (!checked) return TakePythonError().message;
  if (!ImportNumpyApi()) return NumpyFailure();
  PyRef configured = PyRef::Steal(PyObject_CallMethod(runtime_helper, "configure_stdio", nullptr));
  if (!configured) return PythonFailure("cannot configure sys.stdout");
  return "";
}

}  // namespace

// How many Python threads: one by default, on any machine (docs/threads.md): a second thread
// gains only on large inputs, where numpy's loops run without the GIL (1.5x calls/s at 1M
// values on 2 CPUs), and costs on small ones, where the threads only hand the GIL to each other
// inside every numpy call (0.6-0.7x at 1k values, in plain Python threads too, so not a matter
// of cores); and one thread runs calls one at a time, as `python` does, which every function is
// safe with. The CPUs the process may use (cpu_budget.h) are reported beside it: more threads
// than that never help.
const std::string& EnsurePythonStarted(const StartSettings& settings) {
  static std::once_flag once;
  static std::string* outcome = new std::string();  // leaked: read by every env, forever
  std::call_once(once, [&] {
    const CpuBudget budget = ReadCpuBudget();
    facts.usable_cpus = budget.usable;
    facts.python_threads = settings.threads;
    facts.low_latency_ns = LowLatencyWindowNs(budget, settings.low_latency_us);
    SetExitTimeout(settings.exit_timeout_ms);
    *outcome = StartPythonThreads(settings.threads, facts.low_latency_ns,
                                  [settings] { return Initialize(settings); });
    if (outcome->empty()) InstallPythonExitHandler();
  });
  return *outcome;
}

PyObject* RuntimeHelper() { return runtime_helper; }

const NativeRuntimeFacts& RuntimeFacts() { return facts; }

}  // namespace py_outliers
