// The attention functions of the addon: attention, attentionMany (several sequences' attention in one
// pass over the pool: a batched decode step) and storeKv, with the paged layout's block tables. Each
// checks what memory safety needs (args.h), as kernels.cpp does, then runs a driver.
#include <napi.h>

#include <string>
#include <vector>

#include "../threads/drivers.h"
#include "args.h"
#include "binding.h"

namespace bitnet {
namespace binding {

namespace {

// The most calls one attentionMany takes (a batch's sequences; the checks copy each call's block table).
constexpr size_t kMaxAttentionCalls = 1024;

/**
 * The paged layout's trailing arguments (blocks: Int32Array | null | undefined, blockTokens) of
 * attention and storeKv. Absent or null blocks: nullptr (one block of `capacity` positions, the
 * caller checks the cache lengths). Otherwise checks what memory safety needs — blockTokens a
 * multiple of 32, caches of equal length holding whole blocks, enough blocks for positions
 * 0 .. reach − 1 and each of those ids inside the caches — and returns a copy of the used ids, so
 * that a kernel writing into memory shared with `blocks` cannot change them under it.
 */
template <class Args>
const int32_t* paged_blocks(const Args& info, size_t i, const char* fn, int64_t kvHeads, int64_t headDim, int64_t reach,
                            size_t kLength, size_t vLength, std::vector<int32_t>& used, int64_t& blockTokens) {
  if (info.Length() <= i || info[i].IsNull() || info[i].IsUndefined()) return nullptr;
  auto blocks = typed<const int32_t>(info, i, napi_int32_array, fn, "shape.blocks");
  blockTokens = integer(info, i + 1, fn, "shape.blockTokens", 32, kMaxDim);
  if (blockTokens % 32) range_error(std::string(fn) + ": shape.blockTokens = " + std::to_string(blockTokens) + " is not a multiple of 32");
  const int64_t per = mul({kvHeads, blockTokens, headDim});
  if (kLength != vLength) range_error(std::string(fn) + ": kCache and vCache differ in length");
  if (per == 0 || (int64_t)kLength % per) range_error(std::string(fn) + ": kCache is not a whole number of blocks of kvHeads × blockTokens × headDim");
  const int64_t count = (int64_t)kLength / per;
  const int64_t n = (reach + blockTokens - 1) / blockTokens;
  if ((int64_t)blocks.length < n) range_error(std::string(fn) + ": shape.blocks holds fewer blocks than startPos + tokens needs");
  used.assign(blocks.data, blocks.data + n);
  for (int64_t j = 0; j < n; ++j)
    if (used[(size_t)j] < 0 || used[(size_t)j] >= count) range_error(std::string(fn) + ": shape.blocks[" + std::to_string(j) + "] = " + std::to_string(used[(size_t)j]) + " is outside the caches");
  return used.data();
}

/**
 * The checked arguments of one attention call, from `info` (a call's arguments, or one element of
 * attentionMany's array): q, kCache: Uint16Array, vCache: Uint16Array, tokens, heads, kvHeads, headDim,
 * startPos, capacity, scale, out, independentRows: boolean, blocks?: Int32Array | null, blockTokens?,
 * and for attentionMany storeK?: Float32Array | null, storeV? (keys and values stored before attending).
 * `used`: the copy of the block ids the result points into.
 */
template <class Args>
AttentionArgs attention_args(const Args& info, const char* fn, std::vector<int32_t>& used, bool store = false) {
  need_args(info, 12, fn);
  auto q = typed<const float>(info, 0, napi_float32_array, fn, "q");
  // writable views: attentionMany's calls may store into them (attention only reads)
  auto k = typed<uint16_t>(info, 1, napi_uint16_array, fn, "kCache");
  auto v = typed<uint16_t>(info, 2, napi_uint16_array, fn, "vCache");
  AttentionArgs a{};
  a.tokens = integer(info, 3, fn, "shape.tokens", 0, kMaxDim);
  a.heads = integer(info, 4, fn, "shape.heads", 0, kMaxDim);
  a.kvHeads = integer(info, 5, fn, "shape.kvHeads", 1, kMaxDim);
  a.headDim = integer(info, 6, fn, "shape.headDim", 0, kMaxDim);
  a.startPos = integer(info, 7, fn, "shape.startPos", 0, kMaxDim);
  a.capacity = integer(info, 8, fn, "shape.capacity", 0, kMaxDim);
  a.scale = (float)number(info, 9, fn, "shape.scale");
  auto out = typed<float>(info, 10, napi_float32_array, fn, "out");
  if (!info[11].IsBoolean()) type_error(std::string(fn) + ": independentRows must be a boolean");
  a.independentRows = info[11].template As<Napi::Boolean>().Value();
  if (a.startPos + a.tokens > a.capacity) range_error(std::string(fn) + ": startPos + tokens exceeds the cache capacity");
  a.blocks = paged_blocks(info, 12, fn, a.kvHeads, a.headDim, a.startPos + a.tokens, k.length, v.length, used, a.blockTokens);
  if (!a.blocks) {
    a.blockTokens = a.capacity;
    const int64_t cache = mul({a.capacity, a.kvHeads, a.headDim});
    need(k, cache, fn, "kCache", "capacity × kvHeads × headDim");
    need(v, cache, fn, "vCache", "capacity × kvHeads × headDim");
  }
  need(q, mul({a.tokens, a.heads, a.headDim}), fn, "q", "tokens × heads × headDim");
  need(out, mul({a.tokens, a.heads, a.headDim}), fn, "out", "tokens × heads × headDim");
  // attentionMany's optional keys and values to store first (as storeKv: the same checks)
  if (store && info.Length() > 14 && !info[14].IsNull() && !info[14].IsUndefined()) {
    auto nk = typed<const float>(info, 14, napi_float32_array, fn, "store.k");
    auto nv = typed<const float>(info, 15, napi_float32_array, fn, "store.v");
    need(nk, mul({a.tokens, a.kvHeads, a.headDim}), fn, "store.k", "tokens × kvHeads × headDim");
    need(nv, mul({a.tokens, a.kvHeads, a.headDim}), fn, "store.v", "tokens × kvHeads × headDim");
    a.new_k = nk.data;
    a.new_v = nv.data;
    a.k_store = k.data;
    a.v_store = v.data;
  }
  a.q = q.data;
  a.k = k.data;
  a.v = v.data;
  a.out = out.data;
  return a;
}

// attention(q, kCache, vCache, tokens, heads, kvHeads, headDim, startPos, capacity, scale, out, independentRows, blocks?, blockTokens?)
Napi::Value Attention(const Napi::CallbackInfo& info) {
  const char* fn = "attention";
  return guarded(info, fn, [&] {
    std::vector<int32_t> used;
    attention(attention_args(info, fn, used));
    return info.Env().Undefined();
  });
}

// attentionMany(calls: Array<attention's arguments as an array, then storeK, storeV or nulls>): the calls in one
// pass over the pool, each call's keys and values (when given) stored before its positions are read.
Napi::Value AttentionMany(const Napi::CallbackInfo& info) {
  const char* fn = "attentionMany";
  return guarded(info, fn, [&] {
    need_args(info, 1, fn);
    if (!info[0].IsArray()) type_error(std::string(fn) + ": calls must be an array");
    const Napi::Array calls = info[0].As<Napi::Array>();
    const size_t count = calls.Length();
    if (count > kMaxAttentionCalls) range_error(std::string(fn) + ": " + std::to_string(count) + " calls, at most " + std::to_string(kMaxAttentionCalls));
    std::vector<AttentionArgs> parts(count);
    std::vector<std::vector<int32_t>> used(count);
    for (size_t j = 0; j < count; ++j) {
      const Napi::Value c = calls.Get((uint32_t)j);
      const std::string name = std::string(fn) + " calls[" + std::to_string(j) + "]";
      if (!c.IsArray()) type_error(name + " must be an array of attention's arguments");
      parts[j] = attention_args(ArrayArgs{c.As<Napi::Array>()}, name.c_str(), used[j], true);
    }
    attention_many(parts.data(), (int64_t)count);
    return info.Env().Undefined();
  });
}

// storeKv(k, v, kCache: Uint16Array, vCache: Uint16Array, tokens, kvHeads, headDim, startPos, capacity, blocks?: Int32Array | null,
//         blockTokens?)
Napi::Value StoreKv(const Napi::CallbackInfo& info) {
  const char* fn = "storeKv";
  return guarded(info, fn, [&] {
    need_args(info, 9, fn);
    auto k = typed<const float>(info, 0, napi_float32_array, fn, "k");
    auto v = typed<const float>(info, 1, napi_float32_array, fn, "v");
    auto kc = typed<uint16_t>(info, 2, napi_uint16_array, fn, "kCache");
    auto vc = typed<uint16_t>(info, 3, napi_uint16_array, fn, "vCache");
    const int64_t tokens = integer(info, 4, fn, "shape.tokens", 0, kMaxDim);
    const int64_t kvHeads = integer(info, 5, fn, "shape.kvHeads", 1, kMaxDim);
    const int64_t headDim = integer(info, 6, fn, "shape.headDim", 0, kMaxDim);
    const int64_t startPos = integer(info, 7, fn, "shape.startPos", 0, kMaxDim);
    const int64_t capacity = integer(info, 8, fn, "shape.capacity", 0, kMaxDim);
    if (startPos + tokens > capacity) range_error(std::string(fn) + ": startPos + tokens exceeds the cache capacity");
    need(k, mul({tokens, kvHeads, headDim}), fn, "k", "tokens × kvHeads × headDim");
    need(v, mul({tokens, kvHeads, headDim}), fn, "v", "tokens × kvHeads × headDim");
    std::vector<int32_t> used;
    int64_t blockTokens = capacity;
    const int32_t* blocks = paged_blocks(info, 9, fn, kvHeads, headDim, startPos + tokens, kc.length, vc.length, used, blockTokens);
    if (!blocks) {
      need(kc, mul({capacity, kvHeads, headDim}), fn, "kCache", "capacity × kvHeads × headDim");
      need(vc, mul({capacity, kvHeads, headDim}), fn, "vCache", "capacity × kvHeads × headDim");
    }
    store_kv(k.data, v.data, tokens, kvHeads, headDim, startPos, capacity, blocks, blockTokens, kc.data, vc.data);
    return info.Env().Undefined();
  });
}

}  // namespace

void register_attention(Napi::Env env, Napi::Object exports) {
  exports.Set("attention", Napi::Function::New(env, Attention));
  exports.Set("attentionMany", Napi::Function::New(env, AttentionMany));
  exports.Set("storeKv", Napi::Function::New(env, StoreKv));
}

}  // namespace binding
}  // namespace bitnet
