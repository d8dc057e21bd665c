// The addon's JS surface, registered by each part of the binding (the names, argument order and
// meaning are those packages/bitnet-kernels/src/native/addon.ts declares).
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace bitnet {
namespace binding {

#if !defined(_WIN32)
/** A read-only private mapping of the first `bytes` of a file (its descriptor already closed). */
struct FileMapping {
  void* p;
  size_t bytes;
};
/**
 * Opens `path`, lets `check(regular, size)` throw when the file does not fit the caller (the caller's
 * own error), and maps its first `bytes` (0: all of it). A failed open, fstat or mmap throws a JS Error
 * "<fn>: <syscall> '<path>' failed: <reason>" with errno, syscall and path properties (mapfile.cpp).
 */
FileMapping map_file(Napi::Env env, const char* fn, const std::string& path, size_t bytes,
                     const std::function<void(bool regular, int64_t size)>& check);
#endif

void register_kernels(Napi::Env env, Napi::Object exports);  // kernels.cpp
void register_matmul_many(Napi::Env env, Napi::Object exports);  // matmul_many.cpp
void register_attention(Napi::Env env, Napi::Object exports);    // attention.cpp
void register_info(Napi::Env env, Napi::Object exports);     // info.cpp
void register_mapfile(Napi::Env env, Napi::Object exports);  // mapfile.cpp
void register_pages(Napi::Env env, Napi::Object exports);    // pages.cpp
void register_sampling(Napi::Env env, Napi::Object exports); // sampling.cpp
void register_screen(Napi::Env env, Napi::Object exports);   // screen.cpp

}  // namespace binding
}  // namespace bitnet
