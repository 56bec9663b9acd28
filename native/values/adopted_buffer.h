// An ArrayBuffer over memory that Python made: how a result array reaches JS without a copy.
//
// Why V8's own API and not napi_create_external_arraybuffer: Node-API runs that finalizer on
// a later turn of the event loop, so a sync loop of calls returning large arrays would keep
// every one of them until the loop yields (measured: in a sync loop returning copied 10M
// float64 results, each call went from 40 ms to 250 ms as the unfreed copies piled up). V8 calls a
// BackingStore's deleter as soon as the collector frees the buffer, on whatever thread it does so,
// and counts the memory towards its heap limits as it counts its own buffers. The deleter only
// queues the release (deferred_release.h) or calls free(), so any thread will do.
#pragma once

#include <node_api.h>

#include <cstddef>

namespace py_outliers {

// Called once, on any thread, when the ArrayBuffer's memory is freed.
using AdoptedDeleter = void (*)(void* data, size_t length, void* deleter_data);

// JS thread. An ArrayBuffer over data[0..length) that calls deleter(data, length,
// deleter_data) once collected; or null, having called nothing, where the runtime forbids
// memory from outside V8's sandbox (Electron) or the tests pretend it does.
napi_value AdoptIntoArrayBuffer(napi_env env, void* data, size_t length, AdoptedDeleter deleter,
                                void* deleter_data);

// Tests: behave as if the runtime refused outside memory.
void SimulateNoExternalBuffers(bool refused);

}  // namespace py_outliers
