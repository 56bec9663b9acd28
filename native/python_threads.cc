#include "python_threads.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "gil.h"
#include "idle_spin.h"

namespace py_outliers {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One pause of a polling loop: tells the core (and a hypervisor) that this is a spin, so a
// sibling hyperthread gets the execution units meanwhile.
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// A thread asleep, waiting to be handed work. Each has a condition variable of its own so that
// a waker chooses whom to wake: the most recently idle thread (LIFO), whose caches are warm and
// whose idle time is the true gap between jobs. A shared condition variable wakes threads in
// FIFO order, which with one call at a time alternates them: each then sees twice the real gap,
// and the polling window (idle_spin.h) never opens.
struct Sleeper {
  explicit Sleeper(int index) : index(index) {}
  const int index;
  std::condition_variable wake;
  bool woken = false;  // under State::mutex
};

struct Queued {
  std::unique_ptr<PythonJob> job;
  bool big;
};

// How long a small job may run before an idle thread takes the small jobs queued behind it (see
// Claimable): CPython's own switch interval (sys.getswitchinterval(), 5 ms), the
// time it lets one thread hold the GIL while another waits. A submit sees a stall at once (it
// wakes the watcher); with no submits coming, the watcher's timer sees it (see kWatchMaxNs).
constexpr int64_t kPatienceNs = 5'000'000;

// The longest the watcher sleeps between looks while small jobs make progress. It looks first
// kPatienceNs after the last progress, then, each time it finds the stream healthy, waits twice
// as long, up to this: a stall that no submit sees is caught within 20 ms. Why not every 5 ms:
// each look wakes a thread on a core the JS thread or thread 0 is using, and on 2 cores those
// ~200 wake-ups/s cost a 1k-value stream with two threads a few percent of its calls. Measured
// (three alternating pairs of 1 and 2 threads, 4 s each): thread 0 was preempted 116-161 times
// per run against 10-18 with one thread, the JS thread slept 133-137k times against 111-115k
// (each sleep later costs thread 0 an eventfd wake-up, ~15% of its time in this stream), and 2
// threads ran 0.92-1.01x the calls of 1 in bench-style rounds. With the back-off: 50 looks/s
// instead of 198, the JS thread's sleeps fell to 117-126k, 2 threads ran 0.98-1.04x of 1, and
// 0.98x in a full make bench run. At 1 ms these wake-ups had cost ~5-20% of the calls.
constexpr int64_t kWatchMaxNs = 4 * kPatienceNs;

// How much nicer than the process the Python threads run (see PrepareThread).
constexpr int kNicer = 5;

// Leaked on purpose, like the threads themselves: at process exit a thread may still be
// waiting on a condition variable or running a job while static destructors run. Destroying
// a mutex or condition variable that is in use is undefined behaviour; leaking it is not.
struct State {
  std::mutex mutex;
  std::deque<Queued> jobs;
  int pokes = 0;         // wake-ups with no job: take the GIL once to drain deferred releases
  bool started = false;  // every thread runs: pokes may be queued
  std::vector<Sleeper*> asleep;      // the most recently idle last
  Sleeper* watcher = nullptr;        // an idle thread waiting to help with small jobs, if any
  int64_t watch_ns = 0;              // how long the watcher's next look is after the last progress
  int64_t small_progress = 0;        // when a small job last started or finished
  std::vector<int64_t> small_since;  // by thread: when its small job started; 0: it runs none
  // The exit job has a slot of its own, ahead of `jobs`, for thread 0 only. `exiting` is set
  // with it and read without the lock between jobs: from then on no other job runs.
  std::unique_ptr<PythonJob> exit_job;
  std::atomic<bool> exiting{false};
  Sleeper* thread0 = nullptr;
  // Polling (idle_spin.h): at most one thread polls at a time, watching `signals`, which every
  // submit, poke and exit bumps, instead of the lock.
  IdleSpin spin{0};
  Sleeper* poller = nullptr;  // the thread polling, if any
  std::atomic<uint64_t> signals{0};
  bool thread0_busy = false;  // thread 0 runs a job: only then may others take small ones
};
State& TheState() {
  static State* state = new State();
  return *state;
}

// Under the lock: wakes `sleeper` and takes it off the stack if it is there.
void WakeLocked(State& state, Sleeper* sleeper) {
  for (auto it = state.asleep.begin(); it != state.asleep.end(); ++it) {
    if (*it == sleeper) {
      state.asleep.erase(it);
      break;
    }
  }
  sleeper->woken = true;
  sleeper->wake.notify_one();
}

// Under the lock: wakes a thread to take a job now: the one idle the shortest time (its caches
// are the warmest), else the watcher, which would otherwise take it only when its timer fires.
void WakeIdleLocked(State& state) {
  if (!state.asleep.empty()) {
    WakeLocked(state, state.asleep.back());
  } else if (state.watcher != nullptr) {
    WakeLocked(state, state.watcher);
  }
}

// Whether any thread runs a small job.
bool SmallJobsRunning(const State& state) {
  for (const int64_t since : state.small_since) {
    if (since != 0) return true;
  }
  return false;
}

// Whether a small job runs that started less than kPatienceNs ago (see Claimable).
bool SmallJobsMoving(const State& state, int64_t now) {
  for (const int64_t since : state.small_since) {
    if (since != 0 && now - since < kPatienceNs) return true;
  }
  return false;
}

// Whether a thread looking for work takes `queued` now. Small jobs (the Python glue around short
// numpy loops, which holds the GIL nearly throughout) gain nothing from a second thread: two
// threads only hand the GIL back and forth, each hand-off a futex wake, and with 1k-value inputs, 8
// in flight, two threads ran 0.57x the calls of one. So small jobs are thread 0's: another thread
// takes one only while thread 0 is busy and every small job running (if any) has run for
// kPatienceNs: thread 0 runs a big one, which the small job would otherwise wait behind, or the
// small jobs running are slow (a function that releases the GIL for long, or never returns).
// How long the running jobs have run, not how long the queued one has waited: with many calls in
// flight the queue alone can hold a job for longer than that (64 calls at 1k values are ~1.5 ms
// of work), and a second thread would then only take the GIL in turns. Nor whether any job made
// progress: a thread that took over from a stalled one would then itself be the progress, and
// could take only one job per kPatienceNs (~200 calls/s behind a stalled call). Why thread 0, and
// not whichever thread is free: a stream of small jobs that any free thread could take moved
// between the threads every ~1-2k calls, and the thread running it was preempted 5-10x as often
// (11-30k involuntary context switches per 2 s on each thread, against 0.4-4k on one thread), so
// two threads ran 0.82-0.92x the 1k-value calls of one. Kept on thread 0, thread 0's involuntary
// switches fell to 0.5-5k and two threads ran 0.92-1.04x in side tests, 0.93-0.94x in full bench
// runs; 0.98x once the watcher backed off (kWatchMaxNs). Big jobs, whose numpy loops run without
// the GIL, go to any idle thread at once.
bool Claimable(const State& state, const Queued& queued, int index, int64_t now) {
  if (queued.big || index == 0) return true;
  return state.thread0_busy && !SmallJobsMoving(state, now);
}

// What a thread takes next: one job, the exit job, or a poke (no job).
struct Work {
  std::unique_ptr<PythonJob> job;
  bool exit = false;
  bool small = false;
};

// Polls `signals` for up to the current window without the lock. Returns with the lock held.
void Poll(State& state, Sleeper& self, std::unique_lock<std::mutex>& lock, int64_t idle_since,
          int64_t limit) {
  const int64_t window = state.spin.window_ns(limit);
  if (window == 0) return;
  state.poller = &self;
  const uint64_t seen = state.signals.load(std::memory_order_acquire);
  lock.unlock();
  const int64_t deadline = idle_since + window;
  for (unsigned i = 1; state.signals.load(std::memory_order_acquire) == seen; i++) {
    CpuRelax();
    // Every so often: check the clock, and let any other runnable thread on this core (a
    // thread of the user's Python code, say) go first.
    if (i % 64 == 0) {
      if (NowNs() >= deadline) break;
      if (i % 1024 == 0) std::this_thread::yield();
    }
  }
  lock.lock();
  state.poller = nullptr;
}

// `ran_ns`: how long the job this thread just ran took (0: it ran none).
Work Next(State& state, int index, Sleeper& self, bool finished_small, int64_t ran_ns) {
  std::unique_lock<std::mutex> lock(state.mutex);
  const int64_t idle_since = NowNs();
  const int64_t limit = state.spin.Limit(ran_ns);
  const bool just_ran = ran_ns > 0;
  if (index == 0) state.thread0_busy = false;
  if (finished_small) {
    state.small_progress = idle_since;
    state.small_since[index] = 0;
  }
  bool polled = false;  // this thread was the one to poll, so it learns the gap
  for (;;) {
    Work work;
    if (index == 0 && state.exit_job) {
      work.job = std::move(state.exit_job);
      work.exit = true;
      state.thread0_busy = true;
      return work;
    }
    if (state.pokes > 0) {
      state.pokes--;
      return work;
    }
    const int64_t now = NowNs();
    if (!state.jobs.empty() && Claimable(state, state.jobs.front(), index, now)) {
      if (state.watcher == &self) state.watcher = nullptr;
      if (polled) state.spin.Learn(now - idle_since, limit);
      Queued& front = state.jobs.front();
      work.job = std::move(front.job);
      work.small = !front.big;
      if (work.small) {
        state.small_progress = now;
        state.small_since[index] = now;
      }
      state.jobs.pop_front();
      if (index == 0) state.thread0_busy = true;
      // Jobs left behind always have a thread looking out for them, so that none waits behind
      // slow ones while a thread sleeps.
      if (!state.jobs.empty() && state.watcher == nullptr && !state.asleep.empty()) {
        WakeLocked(state, state.asleep.back());
      }
      return work;
    }
    // A small job this thread may not take while thread 0 is idle: thread 0 takes it.
    if (!state.jobs.empty() && !state.thread0_busy && index != 0 && state.poller != state.thread0) {
      WakeLocked(state, state.thread0);
    }
    // While small jobs run or wait, one idle thread watches, in case the busy thread is slow
    // to come back for them; it stops once the pool is idle. It waits on a timer, not a
    // wake-up from each submit: waking a thread costs the submitting JS thread a futex wake.
    // The timer backs off while the stream stays healthy (kWatchMaxNs).
    const bool stream = SmallJobsRunning(state) || !state.jobs.empty() || state.poller != nullptr;
    if (stream && (state.watcher == nullptr || state.watcher == &self)) {
      state.watch_ns =
          state.watcher == &self ? std::min(2 * state.watch_ns, kWatchMaxNs) : kPatienceNs;
      state.watcher = &self;
      const int64_t deadline = (state.jobs.empty() ? now : state.small_progress) + state.watch_ns;
      self.woken = false;
      self.wake.wait_until(
          lock, std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline)));
      continue;
    }
    if (state.watcher == &self) state.watcher = nullptr;
    if (just_ran && !polled && state.jobs.empty() && state.poller == nullptr &&
        !SmallJobsRunning(state)) {
      // A thread fresh from a job, while no other runs small jobs: poll for the next one.
      polled = true;
      Poll(state, self, lock, idle_since, limit);
      continue;
    }
    self.woken = false;
    state.asleep.push_back(&self);
    self.wake.wait(lock, [&] { return self.woken; });
  }
}

void Loop(Sleeper* self) {
  State& state = TheState();
  const int index = self->index;
  bool finished_small = false;
  int64_t ran_ns = 0;
  for (;;) {
    Work work = Next(state, index, *self, finished_small, ran_ns);
    finished_small = work.small;
    const bool had_job = work.job != nullptr;
    const int64_t start = NowNs();
    // The GIL is taken and released per job: a JS thread calling the sync API then waits for
    // one call at most, never for a whole queue. Once exiting, jobs are only destroyed (still
    // under the GIL: they may own PyRefs). A poke takes the GIL just to release it: the
    // release drains the deferred releases.
    GilHold hold;
    if (work.job && (work.exit || !state.exiting.load(std::memory_order_acquire))) {
      work.job->Run();
    }
    work.job.reset();
    ran_ns = had_job ? std::max<int64_t>(NowNs() - start, 1) : 0;
  }
}

// Node unloads an addon (dlclose) when the last environment that loaded it ends, e.g. when
// the only Worker that used it exits. These threads run our code for the life of the process,
// and Python holds pointers into it (the pin type's dealloc), so the library must stay
// mapped: re-open it with RTLD_NODELETE (still RTLD_LOCAL, see NOTES.md item 1).
std::string KeepLibraryLoaded() {
  Dl_info self{};
  if (dladdr(reinterpret_cast<void*>(&KeepLibraryLoaded), &self) == 0 ||
      self.dli_fname == nullptr ||
      dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE) == nullptr) {
    return "cannot pin the py-outliers addon in memory";
  }
  return "";
}

// Names the thread (for top -H, gdb, perf) and lowers its scheduling priority below the JS
// threads'. On a machine with as many busy Python threads as cores, the event loop would
// otherwise queue behind them for the CPU when it wakes: measured on 2 cores, two threads
// running 1M-value calls raised the event loop's p99 delay from 1.9 to 2.5-3.1 ms. A nicer
// thread still gets every core no one else wants, so throughput is unchanged when JS is idle.
// The step is relative to the creating thread, whose nice a new thread inherits: thread 0 runs
// 5 below the process, threads 1.. (started by thread 0) 10 below. That is what the event-loop
// figures were measured with; all threads at 5 below raised the p99 delay of a two-lane 1M
// stream from 1.87-2.11 ms to 1.94-2.83 ms (three alternating runs each).
void PrepareThread(int index) {
  const std::string name = "py-outliers/" + std::to_string(index);  // at most 15 characters
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
  const id_t tid = static_cast<id_t>(syscall(SYS_gettid));  // on Linux, nice is per thread
  errno = 0;
  const int nice = getpriority(PRIO_PROCESS, tid);
  if (errno == 0) setpriority(PRIO_PROCESS, tid, std::min(nice + kNicer, 19));
}

// Threads 1..count-1, started by thread 0 once Python runs. Each makes its Python thread
// state once, for its whole life (PyThreadState_New also registers it for the PyGILState API
// on this thread, so every GilHold reuses it). Returns why one could not start, if so.
std::string StartOtherThreads(int count) {
  for (int index = 1; index < count; index++) {
    std::promise<bool> ready;
    std::future<bool> made = ready.get_future();
    try {
      std::thread([index, ready = std::move(ready)]() mutable {
        PrepareThread(index);
        ready.set_value(PyThreadState_New(PyInterpreterState_Main()) != nullptr);
        Loop(new Sleeper(index));  // leaked with the thread, which never ends
      }).detach();
    } catch (const std::system_error& error) {
      return std::string("cannot start Python thread ") + std::to_string(index) + ": " +
             error.what();
    }
    if (!made.get()) return "cannot create a Python thread state";
  }
  return "";
}

}  // namespace

std::string StartPythonThreads(const PythonThreadsOptions& options,
                               const std::function<std::string()>& initialize) {
  std::string error = KeepLibraryLoaded();
  if (!error.empty()) return error;
  std::promise<std::string> started;
  std::future<std::string> result = started.get_future();
  // The promise moves into the thread: the caller may return (and would destroy a promise it
  // owned) while set_value is still finishing on the other thread.
  std::thread thread([started = std::move(started), initialize, options]() mutable {
    PrepareThread(0);
    std::string error = initialize();
    if (!error.empty()) {
      started.set_value(error);
      return;
    }
    // Initialization left the GIL with us; hand it back so that every thread can take it.
    PyEval_SaveThread();
    {
      State& state = TheState();
      std::lock_guard<std::mutex> lock(state.mutex);
      state.small_since.assign(static_cast<size_t>(std::max(options.count, 1)), 0);
    }
    error = StartOtherThreads(options.count);
    if (!error.empty()) {
      started.set_value(error);
      return;
    }
    Sleeper* self = new Sleeper(0);  // leaked with the thread, which never ends
    {
      State& state = TheState();
      std::lock_guard<std::mutex> lock(state.mutex);
      state.spin = IdleSpin(options.idle_spin_ns);
      state.thread0 = self;
      state.started = true;
    }
    started.set_value(std::string());
    Loop(self);
  });
  // Detached: the threads live as long as the process. They are never joined, because joining
  // would mean stopping Python, and Py_Finalize is never called (numpy cannot restart).
  thread.detach();
  return result.get();
}

void SubmitPythonJob(std::unique_ptr<PythonJob> job) {
  State& state = TheState();
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    const bool big = job->RunsMostlyWithoutGil();
    state.jobs.push_back(Queued{std::move(job), big});
    state.signals.fetch_add(1, std::memory_order_release);
    // The poller, if any, takes this job without being woken: the futex wake (on a VM, an
    // interrupt) and the sleeper's wake-up latency that polling saves.
    if (state.poller != nullptr && state.jobs.size() == 1 &&
        Claimable(state, state.jobs.back(), state.poller->index, NowNs())) {
      return;
    }
    if (big) {
      WakeIdleLocked(state);
      return;
    }
    // A small job, while thread 0 is idle: it is thread 0's (see Claimable).
    if (!state.thread0_busy) {
      WakeLocked(state, state.thread0);
      return;
    }
    // A small job, while thread 0 is busy and a thread runs small jobs: that thread takes it next,
    // and a watcher steps in if it is slow to (see Claimable). Only without a watcher is a thread
    // woken, to become one.
    if (SmallJobsRunning(state)) {
      if (state.watcher == nullptr && !state.asleep.empty()) {
        WakeLocked(state, state.asleep.back());
      } else if (state.watcher != nullptr && !SmallJobsMoving(state, NowNs())) {
        // Stalled: the watcher, which may be asleep for up to kWatchMaxNs, takes the front now.
        WakeLocked(state, state.watcher);
      }
      return;
    }
    // No thread runs small jobs: one must be woken to run it now. The watcher, if any, would
    // otherwise take it only when its timer fires: measured, a call made 1 ms after a burst
    // waited ~4 ms for it, and with a 20 ms timer a 1k-value stream on two threads ran at a
    // third of the speed of one thread.
    WakeIdleLocked(state);
  }
}

void SubmitExitJob(std::unique_ptr<PythonJob> job) {
  State& state = TheState();
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    state.exit_job = std::move(job);
    state.exiting.store(true, std::memory_order_release);
    state.signals.fetch_add(1, std::memory_order_release);
    if (state.thread0 != nullptr) WakeLocked(state, state.thread0);
  }
}

void WakePythonThread() {
  State& state = TheState();
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    if (!state.started) return;
    state.pokes++;
    state.signals.fetch_add(1, std::memory_order_release);
    if (!state.asleep.empty()) WakeLocked(state, state.asleep.back());
  }
}

}  // namespace py_outliers
