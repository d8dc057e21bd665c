// The addon's JS surface, registered by each part of the binding (the names, argument order and
// meaning are those packages/bitnet-kernels/src/native/addon.ts declares).
#pragma once

#include <napi.h>

namespace bitnet {
namespace binding {

void register_kernels(Napi::Env env, Napi::Object exports);  // kernels.cpp
void register_matmul_many(Napi::Env env, Napi::Object exports);  // matmul_many.cpp
void register_attention(Napi::Env env, Napi::Object exports);    // attention.cpp
void register_info(Napi::Env env, Napi::Object exports);     // info.cpp
void register_mapfile(Napi::Env env, Napi::Object exports);  // mapfile.cpp
void register_pages(Napi::Env env, Napi::Object exports);    // pages.cpp

}  // namespace binding
}  // namespace bitnet
