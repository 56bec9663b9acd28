// Memory shared between this process and its worker processes (src/pool.ts), private to them:
// an anonymous memfd that no other process can open by name (only through /proc/<pid>/fd/<n>,
// which needs the right to ptrace this process: the same user, and the kernel's ptrace rules).
// Node-API only, so one binary serves every Node line (docs/processes.md, "Shared memory").
#pragma once

#include <node_api.h>

namespace py_outliers {

// createRegion(bytes) -> [fd, ArrayBuffer]: a new memfd of `bytes` bytes, mapped shared and
// writable here. The ArrayBuffer owns both: when it is collected the mapping is unmapped and
// the fd closed, so a worker must have opened /proc/<pid>/fd/<fd> by then (the pool keeps the
// buffer while any call or worker may still need it).
napi_value CreateRegion(napi_env env, napi_callback_info info);

// mapFile(path, bytes) -> ArrayBuffer: a worker's result (a memfd it filled, reached as
// /proc/<worker>/fd/<n>) mapped copy-on-write: JS may write the array, the worker never sees
// it, and no byte is copied until a page is written.
napi_value MapFile(napi_env env, napi_callback_info info);

}  // namespace py_outliers
