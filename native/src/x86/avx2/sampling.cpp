// The sampler's kernels on 256-bit vectors: the weighing pass (weighLogits) and the sum for logprobs
// (sumExp) on 4 doubles at a time, core/exp_weight.h's operations lane by lane, the out-of-range lanes
// (below −708, above 709, NaN) blended in afterwards; the greedy choice (argmax) on 8 floats.
#include "../intrin.h"

#include <cstring>

#include "../../core/exp_weight.h"
#include "../../ref/ref.h"
#include "kernels.h"

namespace bitnet {
namespace avx2 {

/** A vector of 4 doubles with + and * (for expw::exp_poly). */
struct D4 {
  __m256d v;
};
inline D4 operator+(D4 a, D4 b) { return {_mm256_add_pd(a.v, b.v)}; }
inline D4 operator*(D4 a, D4 b) { return {_mm256_mul_pd(a.v, b.v)}; }

/** expw::exp_weight on each lane. */
inline __m256d exp_weight4(__m256d a) {
  using namespace expw;
  const __m256d round = _mm256_set1_pd(kRound);
  const __m256d t = _mm256_add_pd(_mm256_mul_pd(a, _mm256_set1_pd(kLog2e)), round);
  const __m256d k = _mm256_sub_pd(t, round);
  const __m256i ki = _mm256_sub_epi64(_mm256_castpd_si256(t), _mm256_set1_epi64x((int64_t)to_bits(kRound)));
  const __m256d r = _mm256_sub_pd(_mm256_sub_pd(a, _mm256_mul_pd(k, _mm256_set1_pd(kLn2Hi))), _mm256_mul_pd(k, _mm256_set1_pd(kLn2Lo)));
  const D4 p = exp_poly(D4{r}, [](int j) { return D4{_mm256_set1_pd(kC[j])}; });
  __m256d e = _mm256_mul_pd(p.v, _mm256_castsi256_pd(_mm256_slli_epi64(_mm256_add_epi64(ki, _mm256_set1_epi64x(1023)), 52)));
  e = _mm256_blendv_pd(e, _mm256_setzero_pd(), _mm256_cmp_pd(a, _mm256_set1_pd(kLow), _CMP_LT_OQ));
  e = _mm256_blendv_pd(e, _mm256_set1_pd(__builtin_inf()), _mm256_cmp_pd(a, _mm256_set1_pd(kHigh), _CMP_GT_OQ));
  return _mm256_blendv_pd(e, a, _mm256_cmp_pd(a, a, _CMP_UNORD_Q));
}

void weigh_logits(const float* l, int64_t n, double max, double temperature, double band_scale, int bands, double* weights, uint8_t* band) {
  const __m256d vmax = _mm256_set1_pd(max), vt = _mm256_set1_pd(temperature), vbs = _mm256_set1_pd(band_scale);
  const __m256d one = _mm256_set1_pd(1.0), zero = _mm256_setzero_pd(), last = _mm256_set1_pd((double)(bands - 1));
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const __m256d x = _mm256_cvtps_pd(_mm_loadu_ps(l + i));
    _mm256_storeu_pd(weights + i, exp_weight4(_mm256_div_pd(_mm256_sub_pd(x, vmax), vt)));
    // band_of: trunc(d) for 1 ≤ d < bands − 1, 0 below 1, bands − 1 otherwise (NaN included)
    const __m256d d = _mm256_mul_pd(_mm256_sub_pd(vmax, x), vbs);
    const __m256d inner = _mm256_blendv_pd(zero, d, _mm256_cmp_pd(d, one, _CMP_GE_OQ));
    const __m128i b32 = _mm256_cvttpd_epi32(_mm256_blendv_pd(last, inner, _mm256_cmp_pd(d, last, _CMP_LT_OQ)));
    const int32_t b4 = _mm_cvtsi128_si32(_mm_packus_epi16(_mm_packs_epi32(b32, b32), _mm_setzero_si128()));
    std::memcpy(band + i, &b4, 4);
  }
  if (i < n) ref::weigh_logits_ref(l + i, n - i, max, temperature, band_scale, bands, weights + i, band + i);
}

/** sum_exp: the contract's lanes 0..3 and 4..7 in two vectors, the tail goes on scalar. */
double sum_exp(const float* x, int64_t n, double max) {
  const __m256d vmax = _mm256_set1_pd(max), ninf = _mm256_set1_pd(-__builtin_inf());
  __m256d lo = _mm256_setzero_pd(), hi = lo;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256d a = _mm256_cvtps_pd(_mm_loadu_ps(x + i)), b = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4));
    // −∞ and NaN: nothing
    lo = _mm256_add_pd(lo, _mm256_and_pd(_mm256_cmp_pd(a, ninf, _CMP_GT_OQ), exp_weight4(_mm256_sub_pd(a, vmax))));
    hi = _mm256_add_pd(hi, _mm256_and_pd(_mm256_cmp_pd(b, ninf, _CMP_GT_OQ), exp_weight4(_mm256_sub_pd(b, vmax))));
  }
  alignas(32) double lanes[8];
  _mm256_store_pd(lanes, lo);
  _mm256_store_pd(lanes + 4, hi);
  return ref::sum_exp_finish(lanes, x, i, n, max);
}

/** argmax as avx512::argmax_512 does it, on eight lanes. */
int64_t argmax(const float* x, int64_t n) {
  if (n < 16) return ref::argmax_ref(x, n);
  if (x[0] != x[0]) return 0;  // a NaN first: nothing compares greater
  __m256 best = _mm256_set1_ps(-__builtin_inff());
  __m256i at = _mm256_set1_epi32(-1), idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i step = _mm256_set1_epi32(8);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 gt = _mm256_cmp_ps(v, best, _CMP_GT_OQ);
    best = _mm256_blendv_ps(best, v, gt);
    at = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(at), _mm256_castsi256_ps(idx), gt));
    idx = _mm256_add_epi32(idx, step);
  }
  alignas(32) int32_t lanes[8];
  _mm256_store_si256((__m256i*)lanes, at);
  return ref::argmax_finish(x, n, lanes, 8, i);
}

}  // namespace avx2
}  // namespace bitnet
