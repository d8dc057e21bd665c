// The screening kernels of the addon: matmulFloatPicked (chosen elements of a float matmul) and the
// screened output's I8r kernels (matmulI8rI8, encodeI8rRows, screenBoundsI8r, screenCandidates). Argument checks as kernels.cpp:
// what memory safety needs, every index included; the rest of the contract is checked in TypeScript.
#include <napi.h>

#include <string>

#include "../convert/convert.h"
#include "../core/tensor_types.h"
#include "../dispatch/dispatch.h"
#include "../threads/drivers.h"
#include "args.h"
#include "binding.h"

namespace bitnet {
namespace binding {

namespace {

/** Every ids[i] in [0, n): a RangeError naming the first that is not. */
void need_indices(const View<const int32_t>& ids, int64_t n, const char* fn, const char* name) {
  for (size_t i = 0; i < ids.length; ++i) {
    if (ids.data[i] < 0 || ids.data[i] >= n) {
      range_error(std::string(fn) + ": " + name + "[" + std::to_string(i) + "] = " + std::to_string(ids.data[i]) + " is outside [0, " +
                  std::to_string(n) + ")");
    }
  }
}

// matmulFloatPicked(type, w: Uint8Array, N, K, x: Float32Array, M, wRow: Int32Array, xRow: Int32Array, out: Float32Array)
Napi::Value MatmulFloatPicked(const Napi::CallbackInfo& info) {
  const char* fn = "matmulFloatPicked";
  return guarded(info, fn, [&] {
    need_args(info, 9, fn);
    const FloatOperands a = float_operands(info, fn);
    auto w_row = typed<const int32_t>(info, 6, napi_int32_array, fn, "wRow");
    auto x_row = typed<const int32_t>(info, 7, napi_int32_array, fn, "xRow");
    auto out = typed<float>(info, 8, napi_float32_array, fn, "out");
    const int64_t P = (int64_t)w_row.length;
    need(x_row, P, fn, "xRow", "wRow.length");
    need(out, P, fn, "out", "wRow.length");
    need_indices(w_row, a.N, fn, "wRow");
    need_indices(View<const int32_t>{x_row.data, (size_t)P}, a.M, fn, "xRow");
    matmul_float_picked(a.type, a.w.data, a.K, a.x.data, w_row.data, x_row.data, P, out.data);
    return info.Env().Undefined();
  });
}

/** The I8r copy's arguments at i, i + 1 (codes: Uint8Array, scales: Float32Array) for N rows × K. */
template <class Args>
void need_i8r(const Args& info, size_t i, int64_t N, int64_t K, const char* fn, View<const uint8_t>* codes, View<const float>* scales) {
  *codes = typed<const uint8_t>(info, i, napi_uint8_array, fn, "codes");
  *scales = typed<const float>(info, i + 1, napi_float32_array, fn, "scales");
  need(*codes, mul({N, K}), fn, "codes", "N × K");
  need(*scales, N, fn, "scales", "N");
}

// matmulI8rI8(codes: Uint8Array, scales: Float32Array, N, K, qs: Int8Array, aScales: Float32Array, sums: Int32Array, M, out: Float32Array)
Napi::Value MatmulI8rI8(const Napi::CallbackInfo& info) {
  const char* fn = "matmulI8rI8";
  return guarded(info, fn, [&] {
    need_args(info, 9, fn);
    const int64_t N = integer(info, 2, fn, "N (w.rows)", 0, kMaxDim);
    const int64_t K = integer(info, 3, fn, "K (w.cols)", 0, 32768);  // the int32 sums' range
    if (K % 32) range_error(std::string(fn) + ": K (w.cols) is not a multiple of 32");
    View<const uint8_t> codes;
    View<const float> scales;
    need_i8r(info, 0, N, K, fn, &codes, &scales);
    auto q = typed<const int8_t>(info, 4, napi_int8_array, fn, "a.qs");
    auto a_scales = typed<const float>(info, 5, napi_float32_array, fn, "a.scales");
    auto sums = typed<const int32_t>(info, 6, napi_int32_array, fn, "a.sums");
    const int64_t M = integer(info, 7, fn, "M (a.rows)", 0, kMaxDim);
    auto out = typed<float>(info, 8, napi_float32_array, fn, "out");
    need(q, mul({M, K}), fn, "a.qs", "M × K");
    need(a_scales, M, fn, "a.scales", "M");
    need(sums, M, fn, "a.sums", "M");
    need(out, mul({M, N}), fn, "out", "M × N");
    matmul_i8r_i8(codes.data, scales.data, N, K, q.data, a_scales.data, sums.data, M, out.data);
    return info.Env().Undefined();
  });
}

// encodeI8rRows(type, w: Uint8Array, N, K, codes: Uint8Array, scales: Float32Array)
Napi::Value EncodeI8rRows(const Napi::CallbackInfo& info) {
  const char* fn = "encodeI8rRows";
  return guarded(info, fn, [&] {
    need_args(info, 6, fn);
    const Q8_0Source src = q8_0_source(info, fn);
    View<uint8_t> codes = typed<uint8_t>(info, 4, napi_uint8_array, fn, "codes");
    View<float> scales = typed<float>(info, 5, napi_float32_array, fn, "scales");
    need(codes, mul({src.N, src.K}), fn, "codes", "N × K");
    need(scales, src.N, fn, "scales", "N");
    encode_i8r_rows(src.type, src.w.data, src.N, src.K, codes.data, scales.data);
    return info.Env().Undefined();
  });
}

// screenBoundsI8r(type, w: Uint8Array, N, K, codes: Uint8Array, scales: Float32Array, out: Float32Array)
Napi::Value ScreenBoundsI8r(const Napi::CallbackInfo& info) {
  const char* fn = "screenBoundsI8r";
  return guarded(info, fn, [&] {
    need_args(info, 7, fn);
    const Q8_0Source src = q8_0_source(info, fn);
    View<const uint8_t> codes;
    View<const float> scales;
    need_i8r(info, 4, src.N, src.K, fn, &codes, &scales);
    auto out = typed<float>(info, 6, napi_float32_array, fn, "out");
    need(out, mul({src.N, 2}), fn, "out", "2 × N");
    screen_bounds_i8r(src.type, src.w.data, codes.data, scales.data, src.N, src.K, out.data);
    return info.Env().Undefined();
  });
}

// screenCandidates(a: Float32Array, bounds: Float32Array, c0, c1, ids: Int32Array): the count, −1 or −2
Napi::Value ScreenCandidates(const Napi::CallbackInfo& info) {
  const char* fn = "screenCandidates";
  return guarded(info, fn, [&]() -> Napi::Value {
    need_args(info, 5, fn);
    auto a = typed<const float>(info, 0, napi_float32_array, fn, "a");
    auto bounds = typed<const float>(info, 1, napi_float32_array, fn, "bounds");
    const double c0 = number(info, 2, fn, "c0"), c1 = number(info, 3, fn, "c1");
    auto ids = typed<int32_t>(info, 4, napi_int32_array, fn, "ids");
    const int64_t V = (int64_t)a.length;
    need(bounds, mul({V, 2}), fn, "bounds", "2 × a.length");
    const int64_t r = table().screen_candidates(a.data, bounds.data, V, c0, c1, ids.data, (int64_t)ids.length);
    return Napi::Number::New(info.Env(), (double)r);
  });
}

}  // namespace

void register_screen(Napi::Env env, Napi::Object exports) {
  exports.Set("matmulFloatPicked", Napi::Function::New(env, MatmulFloatPicked));
  exports.Set("matmulI8rI8", Napi::Function::New(env, MatmulI8rI8));
  exports.Set("encodeI8rRows", Napi::Function::New(env, EncodeI8rRows));
  exports.Set("screenBoundsI8r", Napi::Function::New(env, ScreenBoundsI8r));
  exports.Set("screenCandidates", Napi::Function::New(env, ScreenCandidates));
}

}  // namespace binding
}  // namespace bitnet
