// The JS errors the addon throws or rejects with, built from the classes the TypeScript layer
// registered at start (src/errors.ts): PythonError, ResultError, ClosedError. JS thread only.
#pragma once

#include <napi.h>

#include <string>

#include "runtime/python_error.h"

namespace py_outliers {

// JS thread: a PythonError (the class registered by the TS layer) for `info`.
Napi::Error MakePythonError(Napi::Env env, const PythonErrorInfo& info);

// JS thread: the error for a call on a closed Outliers or PythonFunction (ClosedError).
Napi::Error MakeClosedError(Napi::Env env, const std::string& message);

// JS thread: the error for a function result that breaks the rules (ResultError); its
// `cause` is a PythonError for `cause` if Python raised while the result was read.
Napi::Error MakeResultError(Napi::Env env, const std::string& why,
                            const PythonErrorInfo& cause = {});

}  // namespace py_outliers
