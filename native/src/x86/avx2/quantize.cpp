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
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  float fmax = _mm_cvtss_f32(m4);
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

void quantize_q8k_row(const float* x, int64_t K, int8_t* q, float* d, int16_t* bsums) {
  const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (int64_t b = 0; b < K / QK_K; ++b) {
    const float* xb = x + b * QK_K;
    int8_t* qb = q + b * QK_K;
    __m256 mx = _mm256_setzero_ps();
    for (int j = 0; j < QK_K; j += 8) mx = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(xb + j), absmask), mx);
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    if (!(amax > 0)) {  // zero block (or only NaN): defer to the reference for identical results
      ref::quantize_q8k_row_ref(xb, QK_K, qb, d + b, bsums + b * 16);
      continue;
    }
    float mxv = 0;
    for (int j = 0; j < QK_K; ++j)
      if (std::fabs(xb[j]) == amax) {
        mxv = xb[j];
        break;
      }
    const float iscale = -127.f / mxv;
    const __m256 vs = _mm256_set1_ps(iscale);
    const __m256i hi = _mm256_set1_epi32(127);
    for (int j = 0; j < QK_K; j += 32) {
      __m256i v[4];
      for (int t = 0; t < 4; ++t) v[t] = _mm256_min_epi32(nearest_int8(_mm256_mul_ps(_mm256_loadu_ps(xb + j + 8 * t), vs)), hi);
      _mm256_storeu_si256((__m256i*)(qb + j), pack32_i8(v[0], v[1], v[2], v[3]));
    }
    for (int j = 0; j < QK_K / 16; ++j) {
      const __m128i v = _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i*)(qb + 16 * j)));
      const __m128i w = _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i*)(qb + 16 * j + 8)));
      __m128i s = _mm_madd_epi16(_mm_add_epi16(v, w), _mm_set1_epi16(1));
      s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
      s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
      bsums[b * 16 + j] = (int16_t)_mm_cvtsi128_si32(s);
    }
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
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    d[b] = f16_round(amax / 127.f);
    const __m256 id = _mm256_set1_ps(amax > 0 ? 127.f / amax : 0.0f);
    __m256i r[4];
    for (int t = 0; t < 4; ++t) r[t] = nearest_int8(_mm256_mul_ps(v[t], id));
    _mm256_storeu_si256((__m256i*)(q + b * QK8_0), pack32_i8(r[0], r[1], r[2], r[3]));
  }
}


}  // namespace avx2
}  // namespace bitnet
