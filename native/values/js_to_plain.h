// A call's arguments, from JS values to a PlainTree (plain_value.h). JS thread; no GIL.
//
// The mapping (README, "Values between JS and Python"): a typed array becomes an array of its
// element type over its own memory; `{ data, shape }` (an object with exactly those two keys,
// `data` a typed array) the same with that shape; a safe integer an int, any other number a
// float; a bigint an int; booleans, strings, null/undefined, arrays and plain objects (string
// keys) bool, str, None, list and dict. Anything else is a TypeError that names the argument.
#pragma once

#include <napi.h>

#include <vector>

#include "values/plain_value.h"

namespace py_outliers {

// Converts `args` (a JS Array of positional arguments) and `kwargs` (a plain object, or
// undefined/null for none) into `tree`: node 0 is a kList of the positional arguments, then a
// kDict of the keyword arguments. Every array is pinned (buffer_pin.h) on the way, sync call
// or async: from here its memory lives until Python lets go of it.
// Throws a Napi::TypeError that names the argument (`args[1]`, `kwargs.height[0]`).
void ArgumentsToPlain(Napi::Env env, napi_value args, napi_value kwargs, PlainTree* tree);

}  // namespace py_outliers
