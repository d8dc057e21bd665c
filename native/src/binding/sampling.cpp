// The sampler's kernels (see packages/bitnet-kernels/src/api/Kernels.ts): argmax, weighLogits (the pass
// over a whole vocabulary a draw with top-k off makes) and sumExp (the logprobs' normaliser).
// The table's kernel computes every id's weight and band with SIMD; the sums and the grouping of ids
// by band are sequential by definition (each sum adds in id order) and run here, on the calling thread
// only: ~128 K ids take a fraction of a millisecond, less than waking the pool would cost.
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "../dispatch/dispatch.h"
#include "args.h"
#include "binding.h"

namespace bitnet {
namespace binding {

namespace {

constexpr int64_t kMaxBands = 256;

/** The calling thread's band scratch, kept between calls (a vocabulary's worth of bytes). */
uint8_t* band_scratch(size_t n) {
  thread_local std::vector<uint8_t> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

double weigh_logits(const float* l, int64_t n, double max, double temperature, double band_scale, int64_t bands, double* weights, int32_t* ids,
                    double* band_weight, int32_t* start) {
  uint8_t* band = band_scratch((size_t)n);
  table().weigh_logits(l, n, max, temperature, band_scale, (int)bands, weights, band);
  for (int64_t b = 0; b < bands; ++b) band_weight[b] = 0.0;
  for (int64_t b = 0; b <= bands; ++b) start[b] = 0;
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double w = weights[i];
    sum += w;
    band_weight[band[i]] += w;
    ++start[band[i] + 1];
  }
  for (int64_t b = 0; b < bands; ++b) start[b + 1] += start[b];
  int32_t fill[kMaxBands];
  for (int64_t b = 0; b < bands; ++b) fill[b] = start[b];
  for (int64_t i = 0; i < n; ++i) ids[fill[band[i]]++] = (int32_t)i;
  return sum;
}

// weighLogits(logits: Float32Array, max, temperature, bandScale, weights: Float64Array, ids: Int32Array,
//             bandWeight: Float64Array, start: Int32Array): number
Napi::Value WeighLogits(const Napi::CallbackInfo& info) {
  const char* fn = "weighLogits";
  return guarded(info, fn, [&] {
    need_args(info, 8, fn);
    auto l = typed<const float>(info, 0, napi_float32_array, fn, "logits");
    const double max = number(info, 1, fn, "max"), temperature = number(info, 2, fn, "temperature"), band_scale = number(info, 3, fn, "bandScale");
    auto w = typed<double>(info, 4, napi_float64_array, fn, "weights");
    auto ids = typed<int32_t>(info, 5, napi_int32_array, fn, "ids");
    auto bw = typed<double>(info, 6, napi_float64_array, fn, "bandWeight");
    auto start = typed<int32_t>(info, 7, napi_int32_array, fn, "start");
    const int64_t n = (int64_t)l.length, bands = (int64_t)bw.length;
    if (n > INT32_MAX - 1) range_error(std::string(fn) + ": logits holds more than 2^31 − 2 values");
    if (bands < 1 || bands > kMaxBands) range_error(std::string(fn) + ": bandWeight.length must be 1 .. 256, got " + std::to_string(bands));
    need(w, n, fn, "weights", "logits.length");
    need(ids, n, fn, "ids", "logits.length");
    need(start, bands + 1, fn, "start", "bandWeight.length + 1");
    return Napi::Number::New(info.Env(), weigh_logits(l.data, n, max, temperature, band_scale, bands, w.data, ids.data, bw.data, start.data));
  });
}

// argmax(x: Float32Array): number
Napi::Value Argmax(const Napi::CallbackInfo& info) {
  const char* fn = "argmax";
  return guarded(info, fn, [&] {
    need_args(info, 1, fn);
    auto x = typed<const float>(info, 0, napi_float32_array, fn, "x");
    if (x.length < 1) range_error(std::string(fn) + ": x is empty");
    return Napi::Number::New(info.Env(), (double)table().argmax(x.data, (int64_t)x.length));
  });
}

// sumExp(x: Float32Array, max: number): number
Napi::Value SumExp(const Napi::CallbackInfo& info) {
  const char* fn = "sumExp";
  return guarded(info, fn, [&] {
    need_args(info, 2, fn);
    auto x = typed<const float>(info, 0, napi_float32_array, fn, "x");
    const double max = number(info, 1, fn, "max");
    return Napi::Number::New(info.Env(), table().sum_exp(x.data, (int64_t)x.length, max));
  });
}

}  // namespace

void register_sampling(Napi::Env env, Napi::Object exports) {
  exports.Set("weighLogits", Napi::Function::New(env, WeighLogits));
  exports.Set("argmax", Napi::Function::New(env, Argmax));
  exports.Set("sumExp", Napi::Function::New(env, SumExp));
}

}  // namespace binding
}  // namespace bitnet
