// mapFile(path): the whole file mapped read-only into this process, as an external ArrayBuffer whose
// finalizer unmaps it. Model weights used in their file layout are typed-array views into it, so
// they are file-backed pages (shared with the page cache) instead of private copies. PROT_READ: a
// write into a weight would fault instead of silently diverging from the file. map_file (binding.h)
// opens and maps for both mapFile and readBandwidth's file probe.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include "args.h"
#include "binding.h"

namespace bitnet {
namespace binding {

namespace {

// A JS Error naming the call, the path and the OS's reason, with `errno` / `syscall` properties.
[[noreturn]] void os_error(Napi::Env env, const char* fn, const char* syscall, const std::string& path, int err) {
  Napi::Error e = Napi::Error::New(env, std::string(fn) + ": " + syscall + " '" + path + "' failed: " + std::strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  e.Set("path", Napi::String::New(env, path));
  throw e;
}

Napi::Value MapFile(const Napi::CallbackInfo& info) {
  const char* fn = "mapFile";
  return guarded(info, fn, [&]() -> Napi::Value {
    need_args(info, 1, fn);
    if (!info[0].IsString()) type_error(std::string(fn) + ": path must be a string");
    Napi::Env env = info.Env();
    const std::string path = info[0].As<Napi::String>().Utf8Value();
#if defined(_WIN32)
    throw Napi::Error::New(env, "mapFile: not supported on Windows");
#else
    const FileMapping m = map_file(env, fn, path, 0, [&](bool regular, int64_t size) {
      if (!regular || size <= 0) throw Napi::Error::New(env, std::string("mapFile: '") + path + "' is not a non-empty regular file");
    });
    // Weights are read front to back by every token: read ahead now, so the first pass faults less.
    ::madvise(m.p, m.bytes, MADV_WILLNEED);
    return Napi::ArrayBuffer::New(
        env, m.p, m.bytes, [](Napi::Env, void* data, size_t* len) {
          ::munmap(data, *len);
          delete len;
        },
        new size_t(m.bytes));
#endif
  });
}

}  // namespace

#if !defined(_WIN32)
FileMapping map_file(Napi::Env env, const char* fn, const std::string& path, size_t bytes,
                     const std::function<void(bool regular, int64_t size)>& check) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) os_error(env, fn, "open", path, errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }  // the mapping keeps the file
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) os_error(env, fn, "fstat", path, errno);
  check(S_ISREG(st.st_mode), (int64_t)st.st_size);
  if (bytes == 0) bytes = (size_t)st.st_size;
  void* p = ::mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) os_error(env, fn, "mmap", path, errno);
#if defined(MADV_HUGEPAGE)
  // Pages of the file not yet in the page cache are read in 2 MB folios (filesystems with large folios:
  // ext4 on this Linux 6.18 did), which this and every later mapping of the file then maps with one TLB
  // entry each. On a Zen 4 VM in its fast-bandwidth phase two threads streamed a fully 2 MB-mapped 1.2 GB
  // model at 53–63 GB/s where 4 KB-page memory read 42–48; in its slow phase (~31–35) the page size made
  // no difference, decode included. Pages already cached keep their size. A hint only.
  ::madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return FileMapping{p, bytes};
}
#endif

void register_mapfile(Napi::Env env, Napi::Object exports) { exports.Set("mapFile", Napi::Function::New(env, MapFile)); }

}  // namespace binding
}  // namespace bitnet
