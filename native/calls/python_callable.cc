#include "calls/python_callable.h"

#include "addon/js_errors.h"
#include "runtime/gil.h"
#include "runtime/py_ref.h"
#include "runtime/python_runtime.h"

namespace py_outliers {

std::shared_ptr<PythonCallable> LoadPythonCallable(Napi::Env env, const std::string& module_name,
                                                   const std::string& func_name, Napi::Array paths,
                                                   std::string closed_message) {
  GilHold hold;
  PyRef path_list = PyRef::Steal(PyList_New(0));
  if (!path_list) throw MakePythonError(env, TakePythonError());
  for (uint32_t i = 0; i < paths.Length(); i++) {
    PyRef path =
        PyRef::Steal(PyUnicode_FromString(paths.Get(i).As<Napi::String>().Utf8Value().c_str()));
    if (!path || PyList_Append(path_list.get(), path.get()) < 0) {
      throw MakePythonError(env, TakePythonError());
    }
  }
  PyRef func = PyRef::Steal(PyObject_CallMethod(RuntimeHelper(), "load", "ssO", module_name.c_str(),
                                                func_name.c_str(), path_list.get()));
  if (!func) throw MakePythonError(env, TakePythonError());
  if (!PyCallable_Check(func.get())) {
    throw Napi::TypeError::New(env, module_name + "." + func_name + " is not callable (it is " +
                                        Py_TYPE(func.get())->tp_name + ")");
  }
  return std::make_shared<PythonCallable>(func.Release(), std::move(closed_message));
}

}  // namespace py_outliers
