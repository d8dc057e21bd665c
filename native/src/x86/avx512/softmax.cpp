// Softmax on 16 lanes with the AVX2 kernel's results (ggml's arithmetic): ggml_v_expf's operations lane
// by lane, and the sum taken as the AVX2 kernel takes it, 8 lanes at a time (hsum_f32 of each half, in
// order) into one double, so the sum, and every weight, has its bits. Also the attention weights (the
// softmax rounded to f16, zero-padded to 32): in a 64-row 2B4T prefill call at position 3968 (Zen 4,
// perf samples) they took 10.3 % of the call on 8 lanes and 7.7 % here, the f16 rounding folded into the
// normalising pass (8.5 % as a pass of its own); the double sum's chain of adds and the three passes
// over each row are what is left.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "../../core/ggml_math.h"
#include "../../core/scalar.h"
#include "../avx2/simd.h"
#include "kernels.h"
#include "simd512.h"

namespace bitnet {
namespace avx512 {

namespace {

/** ggml_v_expf on 16 lanes (avx2's v_expf8 lane by lane); any lane out of the fast range sends the
 *  vector through the one-lane function, which gives each lane the vector code's value. */
inline __m512 v_expf16(__m512 x) {
  const __m512 r = _mm512_set1_ps(0x1.8p23f);
  const __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), r);
  const __m512 n = _mm512_sub_ps(z, r);
  if (_mm512_cmp_ps_mask(_mm512_andnot_ps(_mm512_set1_ps(-0.0f), n), _mm512_set1_ps(126.0f), _CMP_GT_OQ)) {
    alignas(64) float v[16];
    _mm512_store_ps(v, x);
    for (int l = 0; l < 16; ++l) v[l] = ggml_v_expf1(v[l]);
    return _mm512_load_ps(v);
  }
  const __m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f), _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
  const __m512i e = _mm512_slli_epi32(_mm512_castps_si512(z), 23);
  const __m512 k = _mm512_castsi512_ps(_mm512_add_epi32(e, _mm512_castps_si512(_mm512_set1_ps(1.0f))));
  const __m512 u = _mm512_mul_ps(b, b);
  const __m512 j = _mm512_fmadd_ps(
      _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f)), u,
                      _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b, _mm512_set1_ps(0x1.fffdb6p-2f))),
      u, _mm512_mul_ps(_mm512_set1_ps(0x1.ffffecp-1f), b));
  return _mm512_fmadd_ps(j, k, k);
}

inline __m256 lo8(__m512 v) { return _mm512_castps512_ps256(v); }
inline __m256 hi8(__m512 v) { return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)); }

/** softmax_row_512, and with RoundF16 each weight then rounded to f16 in the same last pass (the
 *  attention weights: the same values as rounding afterwards, one pass over the row fewer). */
template <bool RoundF16>
void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  const int64_t n16 = n & ~(int64_t)15, n8 = n & ~(int64_t)7;
  // the max: NaNs skipped (vmaxps keeps its second operand, the comparisons fail), in any order (only
  // a zero's sign could differ, and exp of x − (±0) is the same)
  __m512 vmx = _mm512_set1_ps(-INFINITY);
  for (int64_t i = 0; i < n16; i += 16) vmx = _mm512_max_ps(_mm512_loadu_ps(x + i), vmx);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, vmx);
  float mx = -INFINITY;
  for (int l = 0; l < 16; ++l)
    if (lanes[l] > mx) mx = lanes[l];
  for (int64_t i = n16; i < n; ++i)
    if (x[i] > mx) mx = x[i];
  const __m512 vm = _mm512_set1_ps(mx);
  double sum = 0;
  for (int64_t c = 0; c < n16; c += 16) {
    const __m512 e = v_expf16(_mm512_sub_ps(_mm512_loadu_ps(x + c), vm));
    _mm512_storeu_ps(x + c, e);
    sum += (double)hsum_f32(lo8(e));
    sum += (double)hsum_f32(hi8(e));
  }
  if (n8 > n16) {  // one group of 8: the upper lanes are computed on zeros and dropped
    const __m512 lo = _mm512_castsi512_ps(join256(_mm256_castps_si256(_mm256_loadu_ps(x + n16)), _mm256_setzero_si256()));
    const __m512 e = v_expf16(_mm512_sub_ps(lo, vm));
    _mm256_storeu_ps(x + n16, lo8(e));
    sum += (double)hsum_f32(lo8(e));
  }
  if (n8 < n) {
    float e[8] = {0};
    for (int64_t i = n8; i < n; ++i) x[i] = e[i - n8] = ggml_v_expf1(x[i] - mx);
    sum += (double)ggml_hsum8(e);
  }
  // 8 lanes a step: F16C converts 8 (and SIMDe 0.7, for the emulated build, has no 16-lane form)
  const float inv1 = (float)(1.0 / sum);
  const __m256 inv = _mm256_set1_ps(inv1);
  int64_t i = 0;
  for (; i < n8; i += 8) {
    __m256 y = _mm256_mul_ps(_mm256_loadu_ps(x + i), inv);
    if constexpr (RoundF16) y = _mm256_cvtph_ps(_mm256_cvtps_ph(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    _mm256_storeu_ps(x + i, y);
  }
  for (; i < n; ++i) x[i] = RoundF16 ? f16_round(x[i] * inv1) : x[i] * inv1;
}

}  // namespace

void softmax_row_512(float* x, int64_t n) { softmax<false>(x, n); }

void attention_weights_512(float* w, int64_t visible) {
  softmax<true>(w, visible);
  for (int64_t p = std::max<int64_t>(visible, 0), vp = (visible + 31) & ~(int64_t)31; p < vp; ++p) w[p] = 0.0f;
}

}  // namespace avx512
}  // namespace bitnet
