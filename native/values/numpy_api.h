// numpy's C-API for every translation unit that uses it.
//
// numpy's C-API is a table of function pointers that import_array() loads at run time. Each
// file that includes this header shares the one table (PY_ARRAY_UNIQUE_SYMBOL); numpy_api.cc
// defines it (PY_OUTLIERS_NUMPY_API_OWNER) and loads it in ImportNumpyApi().
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define PY_ARRAY_UNIQUE_SYMBOL py_outliers_numpy_api
#ifndef PY_OUTLIERS_NUMPY_API_OWNER
#define NO_IMPORT_ARRAY
#endif
#include <numpy/arrayobject.h>

// A descriptor's element size. numpy 2's headers have PyDataType_ELSIZE, an inline function
// that reads the field where the running numpy keeps it (1.x and 2.x differ); numpy 1.x's
// headers have only the field, as numpy's migration guide says to bridge it.
#if NPY_ABI_VERSION < 0x02000000
#define PyDataType_ELSIZE(descr) ((descr)->elsize)
#endif

namespace py_outliers {

// Loads numpy's C-API table (and the input view's type). GIL held; once, at start; false with a
// Python exception set on failure.
bool ImportNumpyApi();

}  // namespace py_outliers
