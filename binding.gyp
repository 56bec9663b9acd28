{
  "variables": {
    # Sanitizer builds (make asan) set this through npm_config_/GYP_DEFINES.
    "py_outliers_sanitize%": "0"
  },
  "targets": [
    {
      "target_name": "py_outliers",
      "sources": [
        "native/addon.cc",
        "native/buffer_pin.cc",
        "native/python_runtime.cc",
        "native/python_threads.cc",
        "native/cpu_budget.cc",
        "native/python_interrupt.cc",
        "native/python_exit.cc",
        "native/numpy_view.cc",
        "native/python_error.cc",
        "native/deferred_release.cc",
        "native/outliers.cc",
        "native/detect_async.cc",
        "native/async_call.cc",
        "native/python_callable.cc",
        "native/python_function.cc",
        "native/plain_value.cc",
        "native/plain_text.cc",
        "native/big_int.cc",
        "native/js_to_plain.cc",
        "native/plain_to_python.cc",
        "native/python_to_plain.cc",
        "native/plain_to_js.cc",
        "native/adopted_buffer.cc",
        "native/result_poll.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except_all"
      ],
      "include_dirs": [
        "<!@(node native/python_config.js include-dirs)"
      ],
      "defines": [
        "<!@(node native/python_config.js defines)",
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
        "<!@(node native/python_config.js libraries)",
        "-ldl"
      ],
      "ldflags": [
        "<!@(node native/python_config.js ldflags)"
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
      # (native/python_loader.c). Node-API and libc only: one binary for every Node line.
      "target_name": "python_loader",
      "sources": [ "native/python_loader.c" ],
      "cflags": [ "-Wall", "-Wextra", "-Werror" ],
      "libraries": [ "-ldl" ]
    }
  ]
}
