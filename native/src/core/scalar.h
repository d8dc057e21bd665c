// Scalar helpers shared by the kernels: f16/bf16/f32 bit conversions, ggml's rounding trick and the
// bit layouts inside TQ1_0 and Q4_K blocks.
//
// Included by kernel sources compiled with different instruction set flags, so everything here has
// internal linkage (static / anonymous namespace). With external linkage an inline function would be
// emitted in each object and the linker would keep one arbitrary copy — maybe the AVX-512 one — for
// every caller, including the generic path.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "tensor_types.h"

namespace bitnet {
namespace {

// ---- scalar conversions ----------------------------------------------------------------------
static inline float f32_from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
static inline uint32_t f32_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

/** f16 bits -> f32, exact (NaN payloads kept). */
static inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  const uint32_t mant = h & 0x3ff;
  if (exp == 0x1f) return f32_from_bits(sign | 0x7f800000u | (mant << 13));
  if (exp != 0) return f32_from_bits(sign | ((exp + 112) << 23) | (mant << 13));
  if (mant == 0) return f32_from_bits(sign);
  return f32_from_bits(f32_bits((float)mant * 5.9604644775390625e-8f) | sign);  // subnormal: exact
}

/** f32 -> f16 bits, round to nearest even; NaN -> quiet 0x7e00 with the sign (like the TS codec). */
static inline uint16_t f32_to_f16(float f) {
  const uint32_t bits = f32_bits(f);
  const uint32_t sign = (bits >> 16) & 0x8000;
  const uint32_t abs = bits & 0x7fffffff;
  if (abs >= 0x7f800000u) return (uint16_t)(sign | (abs > 0x7f800000u ? 0x7e00 : 0x7c00));
  if (abs >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);
  if (abs >= 0x38800000u) {
    const uint32_t rounded = abs + 0x0fff + ((abs >> 13) & 1);
    return (uint16_t)(sign | ((rounded - 0x38000000u) >> 13));
  }
  // Subnormal or zero: round_half_even(|x| / 2^-24); the product is exact.
  const float scaled = f32_from_bits(abs) * 16777216.0f;
  return (uint16_t)(sign | (uint32_t)std::nearbyint(scaled));
}

static inline float f16_round(float f) { return f16_to_f32(f32_to_f16(f)); }

static inline float bf16_to_f32(uint16_t h) { return f32_from_bits((uint32_t)h << 16); }

static inline uint16_t load_u16(const uint8_t* p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline float load_f32(const uint8_t* p) {
  float f;
  std::memcpy(&f, p, 4);
  return f;
}

/** ggml's nearest_int: round half to even for |v| <= 4194303 (the 1.5·2^23 trick). */
static inline int nearest_int(float fval) {
  const float val = fval + 12582912.f;
  int i;
  std::memcpy(&i, &val, sizeof(int));
  return (i & 0x007fffff) - 0x00400000;
}

// ---- layout helpers ------------------------------------------------------------------------------
/** Trit n (0..2; n = 0 most significant) of a TQ1_0 byte: ((b·3^n) mod 256)·3 >> 8. */
static inline int tq1_trit(uint8_t b, int n) {
  static const uint8_t pow3[5] = {1, 3, 9, 27, 81};
  return (((uint8_t)(b * pow3[n])) * 3) >> 8;
}

/** Q4_K 6-bit scale and min of sub-block j (ggml's get_scale_min_k4). */
static inline void q4k_scale_min(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
  }
}

}  // namespace
}  // namespace bitnet
