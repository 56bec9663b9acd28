// A call's result, from a PlainTree (python_to_plain.h's shape) to JS values. JS thread; no
// GIL: a handed-off ndarray is released through ReleaseWhenGilHeld when its ArrayBuffer is
// collected.
#pragma once

#include <napi.h>

#include "values/plain_value.h"

namespace py_outliers {

// Builds the value at the tree's root, taking over its arrays' memory (adopted_buffer.h).
// Where the runtime refuses memory from outside V8 (its sandbox, in Electron) every array is
// copied into V8's memory instead. Throws Napi::Error on failure.
Napi::Value PlainToJs(Napi::Env env, PlainTree* tree);

}  // namespace py_outliers
