// ggml's float arithmetic for single lanes: the reductions, exp and SiLU of llama.cpp's x86 CPU backend
// (AVX2 + FMA build) and the epilogues of the ternary dot products. The reference kernels are built
// from these, and the SIMD kernels use them for tails and out-of-range lanes, so that every path
// computes the same operations in the same order.
//
// std::fmaf is one rounding (an instruction under -mfma, libm otherwise); -ffp-contract=off keeps the
// compiler from fusing anything else. Internal linkage: this header is compiled with several ISA flags.
#pragma once

#include <cmath>
#include <cstdint>

#include "scalar.h"

namespace bitnet {
namespace {

/** I2_S epilogue: fround(fround(fround(dot − sum) / s) · ws). */
inline float i2s_epilogue(int32_t dot, int32_t sum, float s, float ws) {
  const float t = (float)(dot - sum);
  const float u = t / s;
  return u * ws;
}

/** TQ lane epilogue of one block: acc_k = fmaf(float(lanes_k − gsum_k), da·dw, acc_k). */
inline void tq_lane_epilogue(float* acc, const int32_t* lanes, const int32_t* gsum, float dw, float da) {
  const float d = da * dw;
  for (int k = 0; k < 8; ++k) acc[k] = std::fmaf((float)(lanes[k] - gsum[k]), d, acc[k]);
}

/** hsum_float_8 / tinyBLAS hsum(__m256): ((v0+v4) + (v2+v6)) + ((v1+v5) + (v3+v7)). */
inline float ggml_hsum8(const float* v) {
  const float a0 = v[0] + v[4], a1 = v[1] + v[5], a2 = v[2] + v[6], a3 = v[3] + v[7];
  return (a0 + a2) + (a1 + a3);
}

/** GGML_F32x8_REDUCE of ggml_vec_dot_f16's four 8-lane accumulators acc[8j + l]. */
inline float ggml_reduce_f16_acc(const float* acc) {
  float s[8];
  for (int l = 0; l < 8; ++l) s[l] = (acc[l] + acc[16 + l]) + (acc[8 + l] + acc[24 + l]);
  const float t0 = s[0] + s[4], t1 = s[1] + s[5], t2 = s[2] + s[6], t3 = s[3] + s[7];
  return (t0 + t1) + (t2 + t3);
}

/** ggml_v_expf (vec.h, AVX2 branch) for one lane (lanes are independent). */
inline float ggml_v_expf1(float x) {
  const float r = 0x1.8p23f;
  const float z = std::fmaf(x, 0x1.715476p+0f, r);
  const float n = z - r;
  const float b = std::fmaf(-n, 0x1.7f7d1cp-20f, std::fmaf(-n, 0x1.62e4p-1f, x));
  const uint32_t e = f32_bits(z) << 23;
  const float k = f32_from_bits(e + f32_bits(1.0f));
  const float u = b * b;
  const float j = std::fmaf(std::fmaf(std::fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, std::fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u,
                            0x1.ffffecp-1f * b);
  if (!(std::fabs(n) > 126)) return std::fmaf(j, k, k);
  const uint32_t g = n <= 0 ? 0x82000000u : 0u;
  const float s1 = f32_from_bits(g + 0x7f000000u);
  const float s2 = f32_from_bits(e - g);
  if (std::fabs(n) > 192) return s1 * s1;
  return std::fmaf(s2, j, s2) * s1;
}

/** ggml_v_silu for one lane: x / (1 + v_expf(0 − x)). */
inline float ggml_v_silu1(float x) { return x / (1.0f + ggml_v_expf1(0.0f - x)); }

/** ggml_vec_dot_f16's arithmetic on f32 inputs: 32 FMA lanes (i mod 32) over n & ~31, the reduction,
 *  the tail as f32 products summed in double. */
inline float ggml_dot_f16(const float* a, const float* b, int64_t n) {
  float acc[32] = {0};
  const int64_t np = n & ~(int64_t)31;
  for (int64_t i = 0; i < np; ++i) acc[i & 31] = std::fmaf(a[i], b[i], acc[i & 31]);
  double sum = ggml_reduce_f16_acc(acc);
  for (int64_t i = np; i < n; ++i) sum += (double)(a[i] * b[i]);
  return (float)sum;
}

}  // namespace
}  // namespace bitnet
