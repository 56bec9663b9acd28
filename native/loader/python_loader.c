// The prebuilt package's first addon (docs/install.md; docs/architecture.md, "Loading
// libpython"): it loads the run-time interpreter's libpython into the process, with
// RTLD_GLOBAL, before the real addon (py_outliers.node) is loaded.
//
// Why a separate addon: a prebuilt py_outliers.node cannot name a libpython path (the build
// machine's is not the user's), and it cannot load libpython itself, because the dynamic linker
// must resolve its Python symbols while loading it. Once libpython3.X.so.1.0 is in the process,
// the addon's DT_NEEDED entry for that soname is matched to it, wherever it was found. And
// RTLD_GLOBAL is what numpy's own extension modules need to see libpython's symbols
// (docs/architecture.md, "Loading libpython").
//
// Plain C and Node-API only (no V8, no Python headers): one binary serves every Node line.
// Process-wide: the first load() wins, and every later one, from any thread or Worker, gets
// the same record back, so that the whole process runs one interpreter.
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NAPI_VERSION 8
#include <node_api.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
// What the first successful load() was given (a JSON text from src/prebuilt.ts); never freed:
// libpython stays loaded for the life of the process, and so does the record of it.
static char* record = NULL;

static napi_value Throw(napi_env env, const char* message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

// A JS string argument as a malloc'd UTF-8 C string, or NULL (with a JS exception pending).
static char* StringArgument(napi_env env, napi_value value) {
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) {
    Throw(env, "expected a string");
    return NULL;
  }
  char* text = malloc(length + 1);
  if (text == NULL) {
    Throw(env, "out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, value, text, length + 1, &length);
  return text;
}

static napi_value RecordValue(napi_env env) {
  napi_value out = NULL;
  if (record == NULL) {
    napi_get_undefined(env, &out);
  } else {
    napi_create_string_utf8(env, record, NAPI_AUTO_LENGTH, &out);
  }
  return out;
}

// loaded(): the record of the libpython this process loaded, or undefined.
static napi_value Loaded(napi_env env, napi_callback_info info) {
  (void)info;
  pthread_mutex_lock(&lock);
  napi_value out = RecordValue(env);
  pthread_mutex_unlock(&lock);
  return out;
}

// load(path, record): dlopen(path, RTLD_NOW | RTLD_GLOBAL) once per process and remember
// `record`; returns the record in force (an earlier load's, if there was one). Throws with
// dlerror()'s text if the library cannot be loaded.
static napi_value Load(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) return Throw(env, "load(path, record)");
  char* path = StringArgument(env, argv[0]);
  if (path == NULL) return NULL;
  char* given = StringArgument(env, argv[1]);
  if (given == NULL) {
    free(path);
    return NULL;
  }
  pthread_mutex_lock(&lock);
  napi_value out = NULL;
  if (record != NULL) {
    free(given);
    out = RecordValue(env);
  } else if (dlopen(path, RTLD_NOW | RTLD_GLOBAL) == NULL) {
    // Never dlclose'd on success: CPython cannot be unloaded, and numpy cannot be restarted.
    const char* why = dlerror();
    free(given);
    napi_throw_error(env, NULL, why != NULL ? why : "dlopen failed");
  } else {
    record = given;
    out = RecordValue(env);
  }
  pthread_mutex_unlock(&lock);
  free(path);
  return out;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"load", NULL, Load, NULL, NULL, NULL, napi_enumerable, NULL},
      {"loaded", NULL, Loaded, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
