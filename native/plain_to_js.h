// A call's result, from a PlainTree (python_to_plain.h's shape) to JS values. JS thread; no
// GIL: a handed-off ndarray is released through ReleaseWhenGilHeld when its ArrayBuffer is
// collected.
#pragma once

#include <napi.h>

#include "plain_value.h"

namespace py_outliers {

// Builds the value at the tree's root, taking over its arrays' memory. Where the runtime
// refuses external ArrayBuffers (napi_no_external_buffers_allowed, as under V8's sandbox in
// Electron) every array is copied into V8's memory instead. Throws Napi::Error on failure.
Napi::Value PlainToJs(Napi::Env env, PlainTree* tree);

// Tests: behave as if the runtime refused external ArrayBuffers.
void SimulateNoExternalBuffers(bool refused);

}  // namespace py_outliers
