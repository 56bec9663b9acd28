// Owns numpy's C-API table (numpy_api.h) and loads it.
#define PY_OUTLIERS_NUMPY_API_OWNER
#include "values/numpy_api.h"

#include "values/input_view.h"

// The headers the compiler found must be the build interpreter's own numpy (python_config.js
// reads its _numpyconfig.h): another numpy's headers on the include path (Debian puts a link
// to its python3-numpy headers inside Python's include dir) would compile against the wrong
// ABI and fail only at run time with "_ARRAY_API not found" (docs/architecture.md, "numpy
// headers").
static_assert(NPY_ABI_VERSION == PY_OUTLIERS_NUMPY_ABI_VERSION &&
                  NPY_API_VERSION == PY_OUTLIERS_NUMPY_API_VERSION,
              "py-outliers: the numpy headers on the include path are not those of the build "
              "interpreter's numpy; see scripts/python_config.js");

namespace py_outliers {

bool ImportNumpyApi() {
  if (_import_array() < 0) return false;
  return CreatePinType();
}

}  // namespace py_outliers
