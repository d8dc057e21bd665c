// AVX2 activation quantizers: I8 per token, Q8_K and Q8_0, bit-identical to the reference ones.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "../../core/ggml_math.h"
#include "../../core/kernel_table.h"
#include "../../core/scalar.h"
#include "../../ref/ref.h"
#include "kernels.h"
#include "simd.h"

namespace bitnet {
namespace avx2 {

// ---- activation quantization -------------------------------------------------------------------------

/** ggml's nearest_int on 8 lanes, bit-identical to the scalar trick (also for NaN/huge inputs). */
static inline __m256i nearest_int8(__m256 v) {
  const __m256 t = _mm256_add_ps(v, _mm256_set1_ps(12582912.f));
  return _mm256_sub_epi32(_mm256_and_si256(_mm256_castps_si256(t), _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x00400000));
}

/** Packs 4×8 int32 (already in int8 range) to 32 int8 in order. */
static inline __m256i pack32_i8(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
  const __m256i p = _mm256_packs_epi16(ab, cd);
  return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

void quantize_i8_row(const float* x, int64_t K, int8_t* q, float* scale, int32_t* sum) {
  const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 mx = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) mx = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + k), absmask), mx);  // NaN lanes keep mx
  float fmax = hmax_f32(mx);
  for (int64_t i = k; i < K; ++i) fmax = std::fabs(x[i]) > fmax ? std::fabs(x[i]) : fmax;
  // NaN inputs: the scalar reference ignores them in the max; so does max_ps (it returns the second operand).
  const double dmax = (double)fmax > 0.00001 ? (double)fmax : 0.00001;
  const float s = (float)(127.0 / dmax);
  const __m256 vs = _mm256_set1_ps(s);
  const __m256i lo = _mm256_set1_epi32(-128), hi = _mm256_set1_epi32(127);
  __m256i vsum = _mm256_setzero_si256();
  k = 0;
  for (; k + 32 <= K; k += 32) {
    __m256i v[4];
    for (int j = 0; j < 4; ++j) {
      v[j] = _mm256_min_epi32(_mm256_max_epi32(nearest_int8(_mm256_mul_ps(_mm256_loadu_ps(x + k + 8 * j), vs)), lo), hi);
      vsum = _mm256_add_epi32(vsum, v[j]);
    }
    _mm256_storeu_si256((__m256i*)(q + k), pack32_i8(v[0], v[1], v[2], v[3]));
  }
  int32_t acc = hsum_i32(vsum);
  for (; k < K; ++k) {
    int v = nearest_int(x[k] * s);
    v = v > 127 ? 127 : v < -128 ? -128 : v;
    q[k] = (int8_t)v;
    acc += v;
  }
  *scale = s;
  *sum = acc;
}

/** Index of the first of the QK_K values of xb whose |x| equals amax (one exists: amax is their max). */
static inline int first_abs_equal(const float* xb, float amax) {
  const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 m = _mm256_set1_ps(amax);
  for (int j = 0; j < QK_K; j += 32) {
    unsigned bits = 0;
    for (int t = 3; t >= 0; --t)
      bits = bits << 8 | (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(_mm256_loadu_ps(xb + j + 8 * t), absmask), m, _CMP_EQ_OQ));
    if (bits) return j + __builtin_ctz(bits);
  }
  return 0;  // not reached
}

/** 8 int32 sums of 4 consecutive int8 of p (in order within each 128-bit half). */
static inline __m256i sum4_i8(__m256i p) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), p), _mm256_set1_epi16(1));
}

/** The 16-value sums of 4 packed chunks of 32 int8: lanes [P0 0..15, P1, P2, P3 | P0 16..31, P1, P2, P3]. */
static inline __m256i sum16_x4(const __m256i* p) {
  return _mm256_hadd_epi32(_mm256_hadd_epi32(sum4_i8(p[0]), sum4_i8(p[1])), _mm256_hadd_epi32(sum4_i8(p[2]), sum4_i8(p[3])));
}

void quantize_q8k_row(const float* x, int64_t K, int8_t* q, float* d, int16_t* bsums) {
  for (int64_t b = 0; b < K / QK_K; ++b) {
    const float* xb = x + b * QK_K;
    int8_t* qb = q + b * QK_K;
    // Largest and smallest value (max_ps / min_ps return their second operand for a NaN lane: NaNs
    // are ignored, as the reference's `>` ignores them); amax = max|x| over the non-NaN values.
    __m256 hi8 = _mm256_setzero_ps(), lo8 = _mm256_setzero_ps();
    for (int j = 0; j < QK_K; j += 8) {
      const __m256 v = _mm256_loadu_ps(xb + j);
      hi8 = _mm256_max_ps(v, hi8);
      lo8 = _mm256_min_ps(v, lo8);
    }
    const float vmax = hmax_f32(hi8), vmin = hmin_f32(lo8);
    const float amax = vmax > -vmin ? vmax : -vmin;
    if (!(amax > 0)) {  // zero block (or only NaN): defer to the reference for identical results
      ref::quantize_q8k_row_ref(xb, QK_K, qb, d + b, bsums + b * 16);
      continue;
    }
    // The reference's signed max is the first value with |x| == amax: +amax or −amax, so only its sign
    // matters, and that is known unless both +amax and −amax occur.
    const float mxv = vmax != -vmin ? (vmax > -vmin ? vmax : vmin) : xb[first_abs_equal(xb, amax)];
    const float iscale = -127.f / mxv;
    const __m256 vs = _mm256_set1_ps(iscale);
    const __m256i top = _mm256_set1_epi32(127);
    __m256i p[8];
    for (int j = 0; j < 8; ++j) {
      __m256i v[4];
      for (int t = 0; t < 4; ++t) v[t] = _mm256_min_epi32(nearest_int8(_mm256_mul_ps(_mm256_loadu_ps(xb + 32 * j + 8 * t), vs)), top);
      p[j] = pack32_i8(v[0], v[1], v[2], v[3]);
      _mm256_storeu_si256((__m256i*)(qb + 32 * j), p[j]);
    }
    // bsums[2j], bsums[2j + 1]: the two 16-value halves of chunk j (each sum in [−2048, 2032]).
    const __m256i s16 = _mm256_packs_epi32(sum16_x4(p), sum16_x4(p + 4));  // [P0..P7 lo | P0..P7 hi]
    const __m128i lo = _mm256_castsi256_si128(s16), hi = _mm256_extracti128_si256(s16, 1);
    _mm_storeu_si128((__m128i*)(bsums + b * 16), _mm_unpacklo_epi16(lo, hi));
    _mm_storeu_si128((__m128i*)(bsums + b * 16 + 8), _mm_unpackhi_epi16(lo, hi));
    d[b] = 1 / iscale;
  }
}

void quantize_q8_0_row(const float* x, int64_t K, int8_t* q, float* d) {
  const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (int64_t b = 0; b < K / QK8_0; ++b) {
    const float* xb = x + b * QK8_0;
    __m256 v[4];
    for (int t = 0; t < 4; ++t) v[t] = _mm256_loadu_ps(xb + 8 * t);
    __m256 mx = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v[0], absmask), _mm256_and_ps(v[1], absmask)),
                              _mm256_max_ps(_mm256_and_ps(v[2], absmask), _mm256_and_ps(v[3], absmask)));
    const float amax = hmax_f32(mx);
    d[b] = f16_round(amax / 127.f);
    const __m256 id = _mm256_set1_ps(amax > 0 ? 127.f / amax : 0.0f);
    __m256i r[4];
    for (int t = 0; t < 4; ++t) r[t] = nearest_int8(_mm256_mul_ps(v[t], id));
    _mm256_storeu_si256((__m256i*)(q + b * QK8_0), pack32_i8(r[0], r[1], r[2], r[3]));
  }
}

/** The exact Σ of each 32-value group, 4 groups per step. */
void sum_groups32_i8(const int8_t* q, int64_t groups, int32_t* out) {
  int64_t g = 0;
  for (; g + 4 <= groups; g += 4) {
    __m256i p[4];
    for (int t = 0; t < 4; ++t) p[t] = _mm256_loadu_si256((const __m256i*)(q + 32 * (g + t)));
    const __m256i h = sum16_x4(p);  // [P0..P3 first halves | P0..P3 second halves]
    _mm_storeu_si128((__m128i*)(out + g), _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)));
  }
  ref::sum_groups32_i8_ref(q + 32 * g, groups - g, out + g);
}

}  // namespace avx2
}  // namespace bitnet
