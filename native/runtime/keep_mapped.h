// Keeping the addon mapped for the life of the process.
//
// Node unloads an addon (dlclose) when the last environment that loaded it ends, e.g. when the
// only Worker that used it exits. The Python threads (python_threads.h) run its code for the
// life of the process, and Python holds pointers into it (the input view's pin type), so the
// library must stay mapped: it is re-opened with RTLD_NODELETE (still RTLD_LOCAL;
// docs/architecture.md, "Keeping the addon mapped").
#pragma once

#include <string>

namespace py_outliers {

// Once, before the Python threads start. Returns why it could not, if so.
std::string KeepAddonMapped();

}  // namespace py_outliers
