// allocatePages(bytes, hugePages) / releasePages(arrayBuffer): zero-filled memory straight from the OS for
// large buffers whose end the caller knows (a sequence's KV cache, weights converted at load). Pages are
// committed as they are first written, and releasePages hands them back at once — the ArrayBuffer is
// detached, its views become empty — instead of whenever a garbage collection gets to it: a server's
// memory returns to where it was as each request ends. A buffer never released is unmapped by its
// finalizer as usual.
//
// hugePages (Linux): the buffer starts on a 2 MB boundary and the range is advised MADV_HUGEPAGE, so
// with transparent huge pages in `madvise` or `always` mode its pages are committed 2 MB at a time and
// mapped by one TLB entry each. For memory streamed front to back every token (weights): on a Zen 4 VM,
// two threads read 4 KB-page memory at 42–48 GB/s where the same bytes in huge pages read at 57–58
// (one GiB, prefetched, in its fast-bandwidth phase; ~35 either way in its slow one), and even in the
// slow phase 2B4T decode from converted weights ran 3–5 % faster in huge pages. Not for a KV
// cache: a short sequence touching each layer's region would commit 2 MB per region. Only a hint: where
// the kernel refuses it, the buffer is the same memory in 4 KB pages.
#include <napi.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#if !defined(_WIN32)
#include <sys/mman.h>
#endif

#include "args.h"
#include "binding.h"

namespace bitnet {
namespace binding {

namespace {

// One mapping; the ArrayBuffer's finalizer hint. `released` is set (under g_mutex) when releasePages
// unmapped it, so the finalizer, which may run much later — when another mapping can have the same
// address — unmaps only what is still its own.
struct Mapping {
  void* p;          // the ArrayBuffer's data
  void* base;       // what mmap returned (before p when aligned for huge pages)
  size_t map_size;  // what mmap mapped
  size_t size;      // the ArrayBuffer's length
  bool released;
};

constexpr size_t kHugePage = size_t{2} << 20;

// Mappings not yet released, by address (what releasePages is handed is the ArrayBuffer's data pointer).
std::mutex g_mutex;
std::unordered_map<void*, Mapping*> g_live;

// The most one call maps (1 TiB): a size above it is a bug in the caller, not a request.
constexpr int64_t kMaxBytes = int64_t{1} << 40;

Napi::Value AllocatePages(const Napi::CallbackInfo& info) {
  const char* fn = "allocatePages";
  return guarded(info, fn, [&]() -> Napi::Value {
    need_args(info, 1, fn);
    Napi::Env env = info.Env();
    const size_t size = (size_t)integer(info, 0, fn, "bytes", 1, kMaxBytes);
    if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsBoolean()) type_error(std::string(fn) + ": hugePages must be a boolean");
    const bool huge = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
#if defined(_WIN32)
    throw Napi::Error::New(env, "allocatePages: not supported on Windows");
#else
    // For huge pages: whole 2 MB blocks and one more, so that a 2 MB boundary starts the buffer and its
    // last block lies inside the mapping too (at most that block's unused part is committed in vain).
    const size_t huge_span = (size + kHugePage - 1) & ~(kHugePage - 1);
    const size_t map_size = huge ? huge_span + kHugePage : size;
    void* base = ::mmap(nullptr, map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
      const int err = errno;
      Napi::Error e = Napi::Error::New(env, std::string(fn) + ": mmap of " + std::to_string(map_size) + " bytes failed: " + std::strerror(err));
      e.Set("errno", Napi::Number::New(env, err));
      throw e;
    }
    void* p = base;
    if (huge) {
      p = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(base) + kHugePage - 1) & ~(uintptr_t)(kHugePage - 1));
#if defined(MADV_HUGEPAGE)
      ::madvise(p, huge_span, MADV_HUGEPAGE);  // a hint: refused, it stays 4 KB pages
#endif
    }
    Mapping* m = new Mapping{p, base, map_size, size, false};
    {
      std::lock_guard<std::mutex> lk(g_mutex);
      g_live[p] = m;
    }
    return Napi::ArrayBuffer::New(
        env, p, size,
        [](Napi::Env, void*, Mapping* m) {
          {
            std::lock_guard<std::mutex> lk(g_mutex);
            if (!m->released) {
              auto it = g_live.find(m->p);
              if (it != g_live.end() && it->second == m) g_live.erase(it);
              ::munmap(m->base, m->map_size);
            }
          }
          delete m;
        },
        m);
#endif
  });
}

Napi::Value ReleasePages(const Napi::CallbackInfo& info) {
  const char* fn = "releasePages";
  return guarded(info, fn, [&]() -> Napi::Value {
    need_args(info, 1, fn);
    Napi::Env env = info.Env();
    if (!info[0].IsArrayBuffer()) type_error(std::string(fn) + ": expected an ArrayBuffer");
    Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
    void* p = ab.Data();
    if (p == nullptr) return Napi::Boolean::New(env, false);
    void* addr;
    size_t size;
    {
      std::lock_guard<std::mutex> lk(g_mutex);
      auto it = g_live.find(p);
      // not one of ours (or already released), or a view's buffer of another size: nothing to do
      if (it == g_live.end() || it->second->size != ab.ByteLength()) return Napi::Boolean::New(env, false);
      Mapping* m = it->second;
      g_live.erase(it);
      m->released = true;  // from here the finalizer (during Detach, or later) leaves the pages alone
      addr = m->base;
      size = m->map_size;
    }
    ab.Detach();  // every view of it is now empty: no access can reach the unmapped pages
#if !defined(_WIN32)
    ::munmap(addr, size);
#endif
    return Napi::Boolean::New(env, true);
  });
}

}  // namespace

void register_pages(Napi::Env env, Napi::Object exports) {
  exports.Set("allocatePages", Napi::Function::New(env, AllocatePages));
  exports.Set("releasePages", Napi::Function::New(env, ReleasePages));
}

}  // namespace binding
}  // namespace bitnet
