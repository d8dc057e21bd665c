// matmulTernaryMany: several matrices of one ternary type times the same activations in one pass over
// the thread pool (a layer's Q, K and V; its gate and up). Checks what memory safety needs, as
// kernels.cpp does for the single calls, then runs threads/drivers.h's matmul_ternary_many.
#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

#include "../core/tensor_types.h"
#include "../threads/drivers.h"
#include "args.h"
#include "binding.h"

namespace bitnet {
namespace binding {

namespace {

/** Element j of a JS array argument (checked to be an array of `count`). */
Napi::Value element(const Napi::Array& arr, int64_t j) { return arr.Get((uint32_t)j); }

Napi::Array array_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  if (!info[i].IsArray()) type_error(std::string(fn) + ": " + name + " must be an array");
  return info[i].As<Napi::Array>();
}

// matmulTernaryMany(type: ggml type id, ws: Uint8Array[], rows: Int32Array, K, qs: Int8Array,
//                   actScale: Float32Array, actSums: Int32Array (I2_S; ignored for TQ), M, outs: Float32Array[], scales: Float32Array)
Napi::Value MatmulTernaryMany(const Napi::CallbackInfo& info) {
  const char* fn = "matmulTernaryMany";
  return guarded(info, fn, [&] {
    need_args(info, 10, fn);
    const int64_t id = integer(info, 0, fn, "type", 0, 1 << 16);
    if (id != GGML_I2_S && id != GGML_TQ2_0 && id != GGML_TQ1_0) range_error(std::string(fn) + ": ggml type " + std::to_string(id) + " is not a ternary type");
    const TensorType& type = *tensor_type(id);
    const Napi::Array ws = array_arg(info, 1, fn, "ws");
    const int64_t count = (int64_t)ws.Length();
    if (count < 1 || count > kMaxTernaryParts) range_error(std::string(fn) + ": " + std::to_string(count) + " matrices, expected 1.." + std::to_string(kMaxTernaryParts));
    auto rows = typed<const int32_t>(info, 2, napi_int32_array, fn, "rows");
    need(rows, count, fn, "rows", "one per matrix");
    const int64_t K = integer(info, 3, fn, "K (w.cols)", 0, type.max_k);
    need_whole_blocks(type, K, fn);
    auto qs = typed<const int8_t>(info, 4, napi_int8_array, fn, "a.qs");
    auto act_scale = typed<const float>(info, 5, napi_float32_array, fn, "a.scales / a.d");
    const int64_t M = integer(info, 7, fn, "M (a.rows)", 0, kMaxDim);
    need(qs, mul({M, K}), fn, "a.qs", "rows × K");
    const int32_t* act_sums = nullptr;
    if (id == GGML_I2_S) {
      auto su = typed<const int32_t>(info, 6, napi_int32_array, fn, "a.sums");
      need(su, M, fn, "a.sums", "rows");
      need(act_scale, M, fn, "a.scales", "rows");
      act_sums = su.data;
    } else {
      need(act_scale, mul({M, K / 256}), fn, "a.d", "rows × K/256");
    }
    const Napi::Array outs = array_arg(info, 8, fn, "outs");
    if ((int64_t)outs.Length() != count) range_error(std::string(fn) + ": outs has " + std::to_string(outs.Length()) + " arrays for " + std::to_string(count) + " matrices");
    auto scales = typed<const float>(info, 9, napi_float32_array, fn, "scales");
    need(scales, count, fn, "scales", "one per matrix");
    std::vector<TernaryPart> parts((size_t)count);
    for (int64_t j = 0; j < count; ++j) {
      const std::string wn = "ws[" + std::to_string(j) + "]", on = "outs[" + std::to_string(j) + "]";
      const int64_t N = rows.data[j];
      if (N < 0) range_error(std::string(fn) + ": rows[" + std::to_string(j) + "] = " + std::to_string(N) + " is negative");
      auto w = typed<const uint8_t>(element(ws, j), napi_uint8_array, fn, wn.c_str());
      auto out = typed<float>(element(outs, j), napi_float32_array, fn, on.c_str());
      need(w, weight_bytes(type, N, K), fn, wn.c_str(), "its rows of K values (and the tensor trailer)");
      need(out, mul({M, N}), fn, on.c_str(), "rows × its N");
      if (!std::isfinite(scales.data[j])) range_error(std::string(fn) + ": scales[" + std::to_string(j) + "] is not finite");
      parts[(size_t)j] = TernaryPart{w.data, N, out.data, scales.data[j]};
    }
    matmul_ternary_many(type, parts.data(), count, K, qs.data, act_scale.data, act_sums, M);
    return info.Env().Undefined();
  });
}

}  // namespace

void register_matmul_many(Napi::Env env, Napi::Object exports) {
  exports.Set("matmulTernaryMany", Napi::Function::New(env, MatmulTernaryMany));
}

}  // namespace binding
}  // namespace bitnet
