// Dequantization of one weight row of each tensor type, bit-identical to the TypeScript codecs of
// @bitnet/models. Header-only helpers with internal linkage: the reference table (ref/) and the
// SIMD float matmuls that dequantize a row before their f32 tile (x86/avx2/float_matmul.cpp) each
// compile them with their own flags. Plain functions in an anonymous namespace, not `inline`: the
// compiler then weighs inlining them into the matmuls as it did when they were file-local (measured:
// the `inline` hint made the Q6_K row loop a few percent slower).
#pragma once

#include <cstdint>
#include <cstring>

#include "scalar.h"
#include "tensor_types.h"

namespace bitnet {
namespace {


[[maybe_unused]] void dequant_row_f32(const uint8_t* src, float* out, int64_t K, float) { std::memcpy(out, src, (size_t)K * 4); }

[[maybe_unused]] void dequant_row_f16(const uint8_t* src, float* out, int64_t K, float) {
  for (int64_t i = 0; i < K; ++i) out[i] = f16_to_f32(load_u16(src + 2 * i));
}

[[maybe_unused]] void dequant_row_bf16(const uint8_t* src, float* out, int64_t K, float) {
  for (int64_t i = 0; i < K; ++i) out[i] = bf16_to_f32(load_u16(src + 2 * i));
}

[[maybe_unused]] void dequant_row_q8_0(const uint8_t* src, float* out, int64_t K, float) {
  for (int64_t b = 0; b < K / QK8_0; ++b) {
    const uint8_t* p = src + b * Q8_0_BYTES;
    const float d = f16_to_f32(load_u16(p));
    for (int j = 0; j < 32; ++j) out[b * 32 + j] = (float)(int8_t)p[2 + j] * d;
  }
}

[[maybe_unused]] void dequant_row_q4_k(const uint8_t* src, float* out, int64_t K, float) {
  for (int64_t b = 0; b < K / QK_K; ++b) {
    const uint8_t* p = src + b * Q4_K_BYTES;
    const float d = f16_to_f32(load_u16(p));
    const float dmin = f16_to_f32(load_u16(p + 2));
    const uint8_t* sc = p + 4;
    const uint8_t* qs = p + 16;
    float* y = out + b * QK_K;
    for (int c = 0; c < 4; ++c) {
      uint8_t s1, m1, s2, m2;
      q4k_scale_min(2 * c, sc, &s1, &m1);
      q4k_scale_min(2 * c + 1, sc, &s2, &m2);
      const float d1 = d * s1, mm1 = dmin * m1, d2 = d * s2, mm2 = dmin * m2;
      // As the TS codec: d1·q is exact in double, one rounding to f32 at the end.
      for (int l = 0; l < 32; ++l) y[64 * c + l] = (float)((double)d1 * (qs[32 * c + l] & 15) - (double)mm1);
      for (int l = 0; l < 32; ++l) y[64 * c + 32 + l] = (float)((double)d2 * (qs[32 * c + l] >> 4) - (double)mm2);
    }
  }
}

[[maybe_unused]] void dequant_row_q6_k(const uint8_t* src, float* out, int64_t K, float) {
  for (int64_t b = 0; b < K / QK_K; ++b) {
    const uint8_t* p = src + b * Q6_K_BYTES;
    const float d = f16_to_f32(load_u16(p + 208));
    float* y = out + b * QK_K;
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = p + 64 * h;
      const uint8_t* qh = p + 128 + 32 * h;
      const int8_t* sc = (const int8_t*)(p + 192 + 8 * h);
      for (int l = 0; l < 32; ++l) {
        const int is = l >> 4;
        const int q1 = (int)((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = (int)((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        // d·sc·q is exact in double; one rounding, as the TS codec and ggml's (d·sc)·q.
        y[128 * h + l] = (float)((double)d * sc[is] * q1);
        y[128 * h + l + 32] = (float)((double)d * sc[is + 2] * q2);
        y[128 * h + l + 64] = (float)((double)d * sc[is + 4] * q3);
        y[128 * h + l + 96] = (float)((double)d * sc[is + 6] * q4);
      }
    }
  }
}

[[maybe_unused]] void dequant_row_tq2_0(const uint8_t* src, float* out, int64_t K, float) {
  for (int64_t b = 0; b < K / QK_K; ++b) {
    const uint8_t* p = src + b * TQ2_0_BYTES;
    const float d = f16_to_f32(load_u16(p + 64));
    for (int c = 0; c < 2; ++c)
      for (int n = 0; n < 4; ++n)
        for (int j = 0; j < 32; ++j) out[b * QK_K + 128 * c + 32 * n + j] = (float)(((p[32 * c + j] >> (2 * n)) & 3) - 1) * d;
  }
}

[[maybe_unused]] void dequant_row_tq1_0(const uint8_t* src, float* out, int64_t K, float) {
  for (int64_t b = 0; b < K / QK_K; ++b) {
    const uint8_t* p = src + b * TQ1_0_BYTES;
    const float d = f16_to_f32(load_u16(p + 52));
    float* y = out + b * QK_K;
    for (int m = 0; m < 32; ++m)
      for (int n = 0; n < 5; ++n) y[32 * n + m] = (float)(tq1_trit(p[m], n) - 1) * d;
    for (int m = 0; m < 16; ++m)
      for (int n = 0; n < 5; ++n) y[160 + 16 * n + m] = (float)(tq1_trit(p[32 + m], n) - 1) * d;
    for (int j = 0; j < 4; ++j)
      for (int n = 0; n < 4; ++n) y[240 + 4 * n + j] = (float)(tq1_trit(p[48 + j], n) - 1) * d;
  }
}

[[maybe_unused]] void dequant_row_i2s(const uint8_t* src, float* out, int64_t K, float scale) {
  const float wv[4] = {-scale, 0.0f * scale, scale, 2 * scale};
  for (int64_t b = 0; b < K / QK_I2S; ++b)
    for (int g = 0; g < 4; ++g)
      for (int j = 0; j < 32; ++j) out[b * QK_I2S + 32 * g + j] = wv[(src[b * 32 + j] >> (6 - 2 * g)) & 3];
}

}  // namespace
}  // namespace bitnet
