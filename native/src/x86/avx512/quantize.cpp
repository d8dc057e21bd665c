// AVX-512 Q8_K activation quantizer, bit-identical to the reference (ref::quantize_q8k_row_ref) and
// to the AVX2 one: the same per-element arithmetic on 16 lanes, the int8 packed with the same
// saturation, and the block sums taken from those packed bytes (vpsadbw) while they are in registers.
#include <cstdint>

#include "../../core/kernel_table.h"
#include "../../core/scalar.h"
#include "../../ref/ref.h"
#include "kernels.h"
#include "simd512.h"

namespace bitnet {
namespace avx512 {

/** ggml's nearest_int on 16 lanes (the 1.5·2^23 trick, as avx2's nearest_int8). */
static inline __m512i nearest_int16(__m512 v) {
  const __m512 t = _mm512_add_ps(v, _mm512_set1_ps(12582912.f));
  return _mm512_sub_epi32(_mm512_and_si512(_mm512_castps_si512(t), _mm512_set1_epi32(0x007fffff)), _mm512_set1_epi32(0x00400000));
}

/** 4×16 int32 → 64 int8 in order, saturating through int16 as avx2's pack32_i8 does. */
static inline __m512i pack64_i8(__m512i a, __m512i b, __m512i c, __m512i d) {
  // packs work per 128-bit lane: lane i ends up holding dwords [a 4i.., b 4i.., c 4i.., d 4i..].
  const __m512i p = _mm512_packs_epi16(_mm512_packs_epi32(a, b), _mm512_packs_epi32(c, d));
  return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), p);
}

/** Largest / smallest of the 16 lanes (no lane is NaN): the halves, then avx2's 8-lane reduction. */
static inline __m256 high256(__m512 v) { return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)); }
static inline float hmax512(__m512 v) { return hmax_f32(_mm256_max_ps(_mm512_castps512_ps256(v), high256(v))); }
static inline float hmin512(__m512 v) { return hmin_f32(_mm256_min_ps(_mm512_castps512_ps256(v), high256(v))); }

/** Index of the first of the QK_K values of xb whose |x| equals amax (one exists). */
static inline int first_abs_equal(const float* xb, float amax) {
  const __m512i absmask = _mm512_set1_epi32(0x7fffffff);
  const __m512 m = _mm512_set1_ps(amax);
  for (int j = 0; j < QK_K; j += 16) {
    const __m512 a = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(_mm512_loadu_ps(xb + j)), absmask));
    const unsigned bits = (unsigned)_mm512_cmp_ps_mask(a, m, _CMP_EQ_OQ);
    if (bits) return j + __builtin_ctz(bits);
  }
  return 0;  // not reached
}

/** Word j of the block sums: g[j] + 2048 sits at word 8·(j mod 4) + j / 4 of the merged vpsadbw results. */
alignas(64) static const int16_t kBsumWords[32] = {0, 8, 16, 24, 1, 9, 17, 25, 2, 10, 18, 26, 3, 11, 19, 27};

void quantize_q8k_row_512(const float* x, int64_t K, int8_t* q, float* d, int16_t* bsums) {
  for (int64_t b = 0; b < K / QK_K; ++b) {
    const float* xb = x + b * QK_K;
    int8_t* qb = q + b * QK_K;
    // Largest and smallest value, NaNs ignored (max/min return their second operand for a NaN lane).
    __m512 hi = _mm512_setzero_ps(), lo = _mm512_setzero_ps();
    for (int j = 0; j < QK_K; j += 16) {
      const __m512 v = _mm512_loadu_ps(xb + j);
      hi = _mm512_max_ps(v, hi);
      lo = _mm512_min_ps(v, lo);
    }
    const float vmax = hmax512(hi), vmin = hmin512(lo);
    const float amax = vmax > -vmin ? vmax : -vmin;
    if (!(amax > 0)) {  // zero block (or only NaN): the reference's results
      ref::quantize_q8k_row_ref(xb, QK_K, qb, d + b, bsums + b * 16);
      continue;
    }
    // The first value with |x| == amax: its sign is known unless both +amax and −amax occur.
    const float mxv = vmax != -vmin ? (vmax > -vmin ? vmax : vmin) : xb[first_abs_equal(xb, amax)];
    const float iscale = -127.f / mxv;
    const __m512 vs = _mm512_set1_ps(iscale);
    const __m512i top = _mm512_set1_epi32(127), bias = _mm512_set1_epi8((char)0x80);
    __m512i sums = _mm512_setzero_si512();
    for (int c = 0; c < 4; ++c) {
      __m512i v[4];
      for (int t = 0; t < 4; ++t) v[t] = _mm512_min_epi32(nearest_int16(_mm512_mul_ps(_mm512_loadu_ps(xb + 64 * c + 16 * t), vs)), top);
      const __m512i p = pack64_i8(v[0], v[1], v[2], v[3]);
      _mm512_storeu_si512((void*)(qb + 64 * c), p);
      // Σ (q + 128) of each 8 bytes, then of each 16 (groups 4c .. 4c+3 in qwords 0, 2, 4, 6), ≤ 4080:
      // word 4·(qword) + c of the merged vector.
      const __m512i s = _mm512_sad_epu8(_mm512_xor_si512(p, bias), _mm512_setzero_si512());
      sums = _mm512_or_si512(sums, _mm512_slli_epi64(_mm512_add_epi64(s, _mm512_unpackhi_epi64(s, s)), 16 * c));
    }
    const __m512i words = _mm512_permutexvar_epi16(_mm512_load_si512((const void*)kBsumWords), sums);
    _mm256_storeu_si256((__m256i*)(bsums + b * 16), _mm256_sub_epi16(_mm512_castsi512_si256(words), _mm256_set1_epi16(2048)));
    d[b] = 1 / iscale;
  }
}

}  // namespace avx512
}  // namespace bitnet
