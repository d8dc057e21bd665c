// The RMS norm with the reference's (ggml's) result, without its sequential double chain on the
// critical path: the sum of squares is taken in 16 double lanes and used whenever it provably rounds
// to the same f32 mean as the chain would; otherwise the chain runs.
#include <cfloat>
#include <cmath>
#include <cstdint>

#include "../../ref/ref.h"
#include "kernels.h"
#include "simd.h"

namespace bitnet {
namespace avx2 {

namespace {

/** Σ (double)(x_i · x_i) with each square rounded to f32 first, as the reference's terms, summed in any order. */
double sum_squares_any_order(const float* x, int64_t n) {
  __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
    const __m256 s0 = _mm256_mul_ps(v0, v0), s1 = _mm256_mul_ps(v1, v1);
    a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm256_castps256_ps128(s0)));
    a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm256_extractf128_ps(s0, 1)));
    a2 = _mm256_add_pd(a2, _mm256_cvtps_pd(_mm256_castps256_ps128(s1)));
    a3 = _mm256_add_pd(a3, _mm256_cvtps_pd(_mm256_extractf128_ps(s1, 1)));
  }
  const __m256d a = _mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3));
  const __m128d h = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
  double s = _mm_cvtsd_f64(h) + _mm_cvtsd_f64(_mm_unpackhi_pd(h, h));
  for (; i < n; ++i) s += (double)(x[i] * x[i]);
  return s;
}

/**
 * The f32 mean (float)(S_seq / n) of the reference, where S_seq is its element-order double sum, from
 * `s`, the same n terms summed in another order; false when that is not certain.
 *
 * Why it holds: the terms are non-negative, and any order of summing n non-negative doubles lands
 * within γ(n−1)·S of the exact sum S, γ(k) = k·u / (1 − k·u), u = 2^−53 (Higham, "Accuracy and
 * Stability of Numerical Algorithms", §4.2). So |S_seq − s| ≤ 2γ(n−1)·S, which is below
 * e = s · n · 2^−51 for n ≤ 2^24 with a factor of 2 to spare (that covers S ≤ s / (1 − γ), the rounding
 * of e itself and of s ± e). The reference's division by n and its cast to f32 are monotonic, so when
 * both ends of [s − e, s + e] give the same f32, S_seq, which lies between them, gives it too. A
 * finite term is an f32 (below 2^128), so no partial sum of 2^24 of them overflows; an infinite or NaN
 * term fails the first test. A near-tie fails the last one: for random data about one row in 10^4.
 */
bool certified_mean(double s, int64_t n, float* mean) {
  if (!(s <= DBL_MAX) || n > (int64_t(1) << 24)) return false;
  const double e = s * (double)n * 0x1p-51;
  const float lo = (float)((s - e) / (double)n);
  const float hi = (float)((s + e) / (double)n);
  if (lo != hi) return false;
  *mean = lo;
  return true;
}

/** The reference's mean square: certified from the lane sum, else from the reference's own chain. */
float rms_norm_mean(const float* x, int64_t n) {
  float mean;
  if (certified_mean(sum_squares_any_order(x, n), n, &mean)) return mean;
  return ref::rms_norm_mean_ref(x, n);
}

}  // namespace

void rms_norm_row(const float* x, int64_t n, const float* w, float eps, float* out) {
  const float s = ref::rms_norm_scale(rms_norm_mean(x, n), eps);
  const __m256 sv = _mm256_set1_ps(s);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) _mm256_storeu_ps(out + j, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + j), sv), _mm256_loadu_ps(w + j)));
  for (; j < n; ++j) out[j] = x[j] * s * w[j];
}

void rms_norm_rows4(const float* x, int64_t n, const float* w, float eps, float* out) {
  for (int r = 0; r < 4; ++r) rms_norm_row(x + r * n, n, w, eps, out + r * n);
}

}  // namespace avx2
}  // namespace bitnet
