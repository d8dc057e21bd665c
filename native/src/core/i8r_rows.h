// The row kernels of the screened output's I8r copy (api/Kernels.ts: encodeI8rRows, screenBoundsI8r,
// matmulI8rI8's epilogue), header-only so that every table compiles the same C++ with its own flags
// (ref/i8r.cpp, x86/avx512/i8r_rows.cpp): the compiler vectorizes the lanes, and -ffp-contract=off
// (CMakeLists.txt) keeps every product and sum rounded on its own, as the TypeScript kernels
// (packages/bitnet-kernels/src/ts/I8rScreen.ts) compute them. Nothing here reassociates a sum.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "scalar.h"

namespace bitnet {
namespace i8r {

/** matmulI8rI8's output from the exact integer Σ c·q and the row's sum: fround(fround(fround(S − 128·sum) / sa) · sw). */
inline float out_value(int32_t S, int32_t sum, float sa, float sw) {
  const float dot = (float)((double)S - 128.0 * (double)sum);  // exact in double, then one rounding
  return dot / sa * sw;  // each f32 operation correctly rounded, as fround of the double one
}

/** The smallest f32 ≥ v (v ≥ 0 or NaN): +Infinity past the largest f32, NaN for NaN. */
inline float round_up_f32(double v) {
  const float f = (float)v;
  return (double)f < v ? std::nextafter(f, std::numeric_limits<float>::infinity()) : f;
}

/** An L2 norm from its 8-lane sum of squares S over K terms, rounded up to f32. */
inline float norm_up(double S, int64_t K) {
  const double padded = S * (1.0 + (double)(K + 8) * 0x1p-52);
  return round_up_f32(std::sqrt(padded) * (1.0 + 0x1p-52));
}

/** ((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7)) */
inline double combine8(const double* s) { return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7])); }

/** One row of encodeI8rRows: amax, d = fround(amax / 127), id = fround(1 / d) (0 for d = 0), codes = clamp(round(x · id)) + 128. */
inline void encode_row(const float* x, int64_t K, uint8_t* codes, float* scale) {
  float m[16] = {};
  for (int64_t k = 0; k < K; k += 16)  // K % 32 == 0
    for (int l = 0; l < 16; ++l) {
      const float a = std::fabs(x[k + l]);
      m[l] = a > m[l] ? a : m[l];  // max is exact and order-free (a NaN row's codes are unspecified)
    }
  float amax = 0.0f;
  for (int l = 0; l < 16; ++l) amax = m[l] > amax ? m[l] : amax;
  const float d = (float)((double)amax / 127.0);
  const float id = d != 0.0f ? (float)(1.0 / (double)d) : 0.0f;
  for (int64_t k = 0; k < K; ++k) {
    float v = x[k] * id;  // one f32 rounding of the exact product
    v = v > 127.0f ? 127.0f : v;
    v = v < -127.0f ? -127.0f : v;  // NaN stays NaN (0 · Infinity when d is subnormal)
    const bool ok = v == v;
    const float c = ok ? v : 0.0f;
    const int32_t t = (int32_t)c;  // truncation, |c| ≤ 127
    const float f = c - (float)t;  // exact
    const int32_t q = t + (f >= 0.5f ? 1 : 0) - (f <= -0.5f ? 1 : 0);  // half away from zero
    codes[k] = (uint8_t)(ok ? q + 128 : 0);  // NaN: 0, as the TypeScript kernel stores it
  }
  *scale = d;
}

/** One row of screenBoundsI8r: out[0] ≥ ‖w − ŵ‖₂, out[1] ≥ ‖ŵ‖₂ (8 lanes of doubles, k ≡ l mod 8 in order). */
inline void bounds_row(const float* w, const uint8_t* codes, float scale, int64_t K, float* out) {
  double se[8] = {}, sv[8] = {};
  const double s = (double)scale;
  for (int64_t k = 0; k < K; k += 8)  // K % 32 == 0
    for (int l = 0; l < 8; ++l) {
      const double wh = (double)((int32_t)codes[k + l] - 128) * s;  // exact
      const double e = (double)w[k + l] - wh;
      const double e2 = e * e, v2 = wh * wh;
      se[l] = se[l] + e2;
      sv[l] = sv[l] + v2;
    }
  out[0] = norm_up(combine8(se), K);
  out[1] = norm_up(combine8(sv), K);
}

/** screenCandidates' bound of token n: bounds[2n]·c0 + bounds[2n+1]·c1 in double (the contract's formula). */
inline double screen_bound(const float* bounds, int64_t n, double c0, double c1) {
  return (double)bounds[2 * n] * c0 + (double)bounds[2 * n + 1] * c1;
}

/** How far below the floor (the largest lower bound) an upper bound may be and still count as reaching it. */
inline double screen_reach(double floor) { return floor - 1e-12 * (1.0 + std::fabs(floor)); }

/**
 * The second pass of screenCandidates over `n` (ascending): appends n to ids when its upper bound
 * reaches `reach`. False when ids is full (the caller returns −2).
 */
inline bool keep_if_reaching(const float* a, const float* bounds, int64_t n, double c0, double c1, double reach, int32_t* ids, int64_t capacity, int64_t& count) {
  if ((double)a[n] + screen_bound(bounds, n, c0, c1) < reach) return true;
  if (count == capacity) return false;
  ids[count++] = (int32_t)n;
  return true;
}

}  // namespace i8r
}  // namespace bitnet
