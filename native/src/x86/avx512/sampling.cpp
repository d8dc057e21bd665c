// The sampler's kernels on 512-bit vectors: the weighing pass (weighLogits) and the sum for logprobs
// (sumExp) on 8 doubles at a time, core/exp_weight.h's operations lane by lane, the out-of-range lanes
// (below −708, above 709, NaN) blended in afterwards; the greedy choice (argmax) on 16 floats.
#include "../../core/exp_weight.h"
#include "../../ref/ref.h"
#include "kernels.h"
#include "simd512.h"

namespace bitnet {
namespace avx512 {

namespace {

// SIMDe 0.7 (the emulated build) lacks these two: composed from 256-bit halves there.
inline __m512d cvtps_pd512(__m256 x) {
#if defined(BITNET_AVX512_EMULATED)
  return _mm512_castsi512_pd(join256(_mm256_castpd_si256(_mm256_cvtps_pd(_mm256_castps256_ps128(x))), _mm256_castpd_si256(_mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)))));
#else
  return _mm512_cvtps_pd(x);
#endif
}

/** The 8 lanes truncated to int32 (values 0..255 here), stored as 8 bytes. */
inline void store_bytes8(uint8_t* p, __m512d v) {
#if defined(BITNET_AVX512_EMULATED)
  const __m128i lo = _mm256_cvttpd_epi32(_mm512_castpd512_pd256(v)), hi = _mm256_cvttpd_epi32(_mm256_castsi256_pd(_mm512_extracti64x4_epi64(_mm512_castpd_si512(v), 1)));
#else
  const __m256i t = _mm512_cvttpd_epi32(v);
  const __m128i lo = _mm256_castsi256_si128(t), hi = _mm256_extracti128_si256(t, 1);
#endif
  _mm_storel_epi64((__m128i*)p, _mm_packus_epi16(_mm_packs_epi32(lo, hi), _mm_setzero_si128()));
}

}  // namespace

/** A vector of 8 doubles with + and * (for expw::exp_poly). */
struct D8 {
  __m512d v;
};
inline D8 operator+(D8 a, D8 b) { return {_mm512_add_pd(a.v, b.v)}; }
inline D8 operator*(D8 a, D8 b) { return {_mm512_mul_pd(a.v, b.v)}; }

/** expw::exp_weight on each lane. */
inline __m512d exp_weight8(__m512d a) {
  using namespace expw;
  const __m512d round = _mm512_set1_pd(kRound);
  const __m512d t = _mm512_add_pd(_mm512_mul_pd(a, _mm512_set1_pd(kLog2e)), round);
  const __m512d k = _mm512_sub_pd(t, round);
  const __m512i ki = _mm512_sub_epi64(_mm512_castpd_si512(t), _mm512_set1_epi64((int64_t)to_bits(kRound)));
  const __m512d r = _mm512_sub_pd(_mm512_sub_pd(a, _mm512_mul_pd(k, _mm512_set1_pd(kLn2Hi))), _mm512_mul_pd(k, _mm512_set1_pd(kLn2Lo)));
  const D8 p = exp_poly(D8{r}, [](int j) { return D8{_mm512_set1_pd(kC[j])}; });
  __m512d e = _mm512_mul_pd(p.v, _mm512_castsi512_pd(_mm512_slli_epi64(_mm512_add_epi64(ki, _mm512_set1_epi64(1023)), 52)));
  e = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(a, _mm512_set1_pd(kLow), _CMP_LT_OQ), e, _mm512_setzero_pd());
  e = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(a, _mm512_set1_pd(kHigh), _CMP_GT_OQ), e, _mm512_set1_pd(__builtin_inf()));
  return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(a, a, _CMP_UNORD_Q), e, a);
}

void weigh_logits_512(const float* l, int64_t n, double max, double temperature, double band_scale, int bands, double* weights, uint8_t* band) {
  const __m512d vmax = _mm512_set1_pd(max), vt = _mm512_set1_pd(temperature), vbs = _mm512_set1_pd(band_scale);
  const __m512d one = _mm512_set1_pd(1.0), zero = _mm512_setzero_pd(), last = _mm512_set1_pd((double)(bands - 1));
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m512d x = cvtps_pd512(_mm256_loadu_ps(l + i));
    _mm512_storeu_pd(weights + i, exp_weight8(_mm512_div_pd(_mm512_sub_pd(x, vmax), vt)));
    // band_of: trunc(d) for 1 ≤ d < bands − 1, 0 below 1, bands − 1 otherwise (NaN included)
    const __m512d d = _mm512_mul_pd(_mm512_sub_pd(vmax, x), vbs);
    const __m512d inner = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(d, one, _CMP_GE_OQ), zero, d);
    store_bytes8(band + i, _mm512_mask_blend_pd(_mm512_cmp_pd_mask(d, last, _CMP_LT_OQ), last, inner));
  }
  if (i < n) ref::weigh_logits_ref(l + i, n - i, max, temperature, band_scale, bands, weights + i, band + i);
}

/** sum_exp: lane l of one vector is the contract's lane l (the elements i ≡ l mod 8), the tail goes on scalar. */
double sum_exp_512(const float* x, int64_t n, double max) {
  const __m512d vmax = _mm512_set1_pd(max), ninf = _mm512_set1_pd(-__builtin_inf());
  __m512d acc = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m512d v = cvtps_pd512(_mm256_loadu_ps(x + i));
    const __m512d e = exp_weight8(_mm512_sub_pd(v, vmax));
    acc = _mm512_add_pd(acc, _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(v, ninf, _CMP_GT_OQ), e));  // −∞ and NaN: nothing
  }
  alignas(64) double lanes[8];
  _mm512_store_pd(lanes, acc);
  return ref::sum_exp_finish(lanes, x, i, n, max);
}

/**
 * argmax: sixteen lanes each keep the first index of their largest value (a strict > never takes a NaN
 * or a tie); the lanes are then combined (the largest value, the lowest index among equals) and the
 * loop runs on over the tail from there: the state the scalar loop has at the same point.
 */
int64_t argmax_512(const float* x, int64_t n) {
  if (n < 32) return ref::argmax_ref(x, n);
  if (x[0] != x[0]) return 0;  // a NaN first: nothing compares greater
  __m512 best = _mm512_set1_ps(-__builtin_inff());
  __m512i at = _mm512_set1_epi32(-1), idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i step = _mm512_set1_epi32(16);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    const __mmask16 gt = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ);
    best = _mm512_mask_blend_ps(gt, best, v);
    at = _mm512_mask_blend_epi32(gt, at, idx);
    idx = _mm512_add_epi32(idx, step);
  }
  alignas(64) int32_t lanes[16];
  _mm512_store_si512((__m512i*)lanes, at);
  return ref::argmax_finish(x, n, lanes, 16, i);
}

}  // namespace avx512
}  // namespace bitnet
