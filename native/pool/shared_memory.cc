#include "pool/shared_memory.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "pool/napi_util.h"

namespace py_outliers {
namespace {

// What an ArrayBuffer over a mapping must release when it is collected.
struct Mapping {
  void* address;
  size_t bytes;
  int fd;  // -1 if the mapping does not own one
};

void ReleaseMapping(napi_env, void*, void* hint) {
  auto* mapping = static_cast<Mapping*>(hint);
  munmap(mapping->address, mapping->bytes);
  if (mapping->fd >= 0) close(mapping->fd);
  delete mapping;
}

// An ArrayBuffer over `mapping`, or a thrown error (the mapping is then released here).
napi_value WrapMapping(napi_env env, Mapping* mapping) {
  napi_value buffer = nullptr;
  if (napi_create_external_arraybuffer(env, mapping->address, mapping->bytes, ReleaseMapping,
                                       mapping, &buffer) != napi_ok) {
    ReleaseMapping(env, nullptr, mapping);
    // napi_no_external_buffers_allowed: a Node built with V8's sandbox.
    return ThrowError(env, "this Node cannot give JS memory shared with another process");
  }
  return buffer;
}

// memfd_create through syscall(): glibc has had a wrapper only since 2.27, and the prebuilt
// binary must load on older systems too.
int MemfdCreate(const char* name) {
  return static_cast<int>(syscall(SYS_memfd_create, name, 1u /* MFD_CLOEXEC */));
}

}  // namespace

napi_value CreateRegion(napi_env env, napi_callback_info info) {
  size_t bytes = 0;
  if (!SizeArgument(env, info, 0, &bytes)) return nullptr;
  // MFD_CLOEXEC: a worker never inherits it by accident; it opens /proc/<pid>/fd/<fd> instead.
  const int fd = MemfdCreate("py-outliers");
  if (fd < 0) return ThrowErrno(env, "memfd_create");
  if (ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    const int saved = errno;
    close(fd);
    errno = saved;
    return ThrowErrno(env, "ftruncate");
  }
  // mmap refuses a length of 0: one page stands for an empty region.
  const size_t mapped = bytes == 0 ? 1 : bytes;
  void* address = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (address == MAP_FAILED) {
    const int saved = errno;
    close(fd);
    errno = saved;
    return ThrowErrno(env, "mmap");
  }
  napi_value buffer = WrapMapping(env, new Mapping{address, mapped, fd});
  if (buffer == nullptr) return nullptr;
  napi_value out = nullptr, fd_value = nullptr;
  napi_create_array_with_length(env, 2, &out);
  napi_create_int32(env, fd, &fd_value);
  napi_set_element(env, out, 0, fd_value);
  napi_set_element(env, out, 1, buffer);
  return out;
}

napi_value MapFile(napi_env env, napi_callback_info info) {
  std::string path;
  size_t bytes = 0;
  if (!StringArgument(env, info, 0, &path) || !SizeArgument(env, info, 1, &bytes)) return nullptr;
  if (bytes == 0) {
    napi_value empty = nullptr;
    napi_create_arraybuffer(env, 0, nullptr, &empty);
    return empty;
  }
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ThrowErrno(env, ("open " + path).c_str());
  // MAP_PRIVATE: JS owns its copy-on-write view; the file may then be closed at once.
  void* address = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  const int saved = errno;
  close(fd);
  if (address == MAP_FAILED) {
    errno = saved;
    return ThrowErrno(env, "mmap");
  }
  return WrapMapping(env, new Mapping{address, bytes, -1});
}

}  // namespace py_outliers
