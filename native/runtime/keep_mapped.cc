#include "runtime/keep_mapped.h"

#include <dlfcn.h>

namespace py_outliers {

std::string KeepAddonMapped() {
  Dl_info self{};
  if (dladdr(reinterpret_cast<void*>(&KeepAddonMapped), &self) == 0 || self.dli_fname == nullptr ||
      dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE) == nullptr) {
    return "cannot pin the py-outliers addon in memory";
  }
  return "";
}

}  // namespace py_outliers
