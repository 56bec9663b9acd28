{
  "variables": {
    # Sanitizer builds (make asan) set this through npm_config_/GYP_DEFINES.
    "py_outliers_sanitize%": "0"
  },
  "targets": [
    {
      "target_name": "py_outliers",
      "sources": [
        "native/addon/addon.cc",
        "native/addon/addon_data.cc",
        "native/addon/js_errors.cc",
        "native/calls/async_call.cc",
        "native/calls/call.cc",
        "native/calls/detect_work.cc",
        "native/calls/function_work.cc",
        "native/calls/python_callable.cc",
        "native/calls/python_interrupt.cc",
        "native/calls/result_poll.cc",
        "native/objects/outliers.cc",
        "native/objects/python_function.cc",
        "native/runtime/cpu_budget.cc",
        "native/runtime/deferred_release.cc",
        "native/runtime/keep_mapped.cc",
        "native/runtime/python_error.cc",
        "native/runtime/python_exit.cc",
        "native/runtime/python_runtime.cc",
        "native/runtime/python_threads.cc",
        "native/values/adopted_buffer.cc",
        "native/values/big_int.cc",
        "native/values/buffer_pin.cc",
        "native/values/index_result.cc",
        "native/values/input_view.cc",
        "native/values/js_to_plain.cc",
        "native/values/numpy_api.cc",
        "native/values/plain_text.cc",
        "native/values/plain_to_js.cc",
        "native/values/plain_to_python.cc",
        "native/values/plain_value.cc",
        "native/values/python_to_plain.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except_all"
      ],
      "include_dirs": [
        # Includes name their folder: "calls/call.h".
        "native",
        "<!@(node scripts/python_config.js include-dirs)"
      ],
      "defines": [
        "<!@(node scripts/python_config.js defines)",
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        # A C++ exception in an environment that is being torn down (worker.terminate() while
        # a call reads its arguments) cannot become a JS exception: node-addon-api then drops
        # it instead of ending the whole process (docs/architecture.md, "Lifetimes at exit and
        # in Workers").
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "NPY_NO_DEPRECATED_API=NPY_1_7_API_VERSION",
        # The oldest numpy the addon runs with: built against numpy 2.x headers, it then loads
        # into numpy 1.23 and later too (a prebuilt binary meets whatever numpy users have).
        "NPY_TARGET_VERSION=NPY_1_23_API_VERSION"
      ],
      "libraries": [
        "<!@(node scripts/python_config.js libraries)",
        "-ldl"
      ],
      "ldflags": [
        "<!@(node scripts/python_config.js ldflags)"
      ],
      "cflags_cc": [
        "-Wall",
        "-Wextra",
        "-Werror"
      ],
      "conditions": [
        ["py_outliers_sanitize==1", {
          "cflags_cc": [ "-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g", "-O1" ],
          "ldflags": [ "-fsanitize=address,undefined" ]
        }]
      ]
    },
    {
      # Loads the run-time interpreter's libpython before a prebuilt py_outliers.node
      # (native/loader/python_loader.c). Node-API and libc only: one binary for every Node line.
      "target_name": "python_loader",
      "sources": [ "native/loader/python_loader.c" ],
      "cflags": [ "-Wall", "-Wextra", "-Werror" ],
      "libraries": [ "-ldl" ]
    },
    {
      # The worker processes' side (src/pool/): shared memory and the CPU count, Node-API only
      # and without libpython, so a ProcessPool runs with any CPython and one binary serves
      # every Node line (docs/processes.md).
      "target_name": "py_outliers_pool",
      "sources": [
        "native/calls/result_poll.cc",
        "native/pool/low_latency.cc",
        "native/pool/napi_util.cc",
        "native/pool/pool_addon.cc",
        "native/pool/process_reaper.cc",
        "native/pool/shared_memory.cc",
        "native/runtime/cpu_budget.cc"
      ],
      "include_dirs": [ "native" ],
      "defines": [ "NAPI_VERSION=8" ],
      "cflags_cc": [ "-Wall", "-Wextra", "-Werror" ]
    }
  ]
}
