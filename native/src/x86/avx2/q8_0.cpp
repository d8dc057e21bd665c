// AVX2 Q8_0 × Q8_0 matmul (ggml_vec_dot_q8_0_q8_0).
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

// ---- Q8_0 × Q8_0 (ggml_vec_dot_q8_0_q8_0, AVX2) ----------------------------------------------------------
// A self-contained section: the quantizer of the activations and the matmul for Q8_0 weights (the
// optional Q8_0 output matrix). The integer core is ggml's mul_sum_i8_pairs: vpsignb moves the sign of
// the weight onto the activation, vpmaddubsw multiplies |qw| (u8, up to 128) by sign(qw)·qa (s8, in
// [−127, 127] from the quantizer) into 16-bit pairs of at most 2·128·127 = 32512 (no saturation), and
// vpmaddwd widens them: int32 lane k = Σ qw·qa over elements 4k .. 4k+3 of the block, exactly the
// contract's L_{b,k}. The float epilogue is the reference's: fmaf(float(L), fround(dw·da), acc_k) per
// block, hsum_f32 (= ggml_hsum8) at the end, so results are bit-identical to the generic kernel.

/** Lanes L_k of one block: qw (weights) and qa (activations) as 32 int8 each. */
static inline __m256i q8_0_lanes(__m256i qw, __m256i qa) {
  const __m256i dot16 = _mm256_maddubs_epi16(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qa, qw));
  return _mm256_madd_epi16(dot16, _mm256_set1_epi16(1));
}

/** One Q8_0 weight row n × RM activation rows from m; the weight block is loaded once for all of them. */
template <int RM>
static inline void q8_0_row(const Q8_0MatmulArgs& a, int64_t n, int64_t m) {
  const int64_t nb = a.K / QK8_0;
  const uint8_t* w = a.w + n * a.row_bytes;
  const int8_t* q[RM];
  const float* da[RM];
  for (int i = 0; i < RM; ++i) {
    q[i] = a.q + (m + i) * a.K;
    da[i] = a.d + (m + i) * nb;
  }
  __m256 acc[RM];
  for (int i = 0; i < RM; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = w + b * Q8_0_BYTES;
    _mm_prefetch((const char*)(wb + PF), _MM_HINT_T0);
    const __m256i qw = load256(wb + 2);
    const float dw = _cvtsh_ss(load_u16(wb));
    for (int i = 0; i < RM; ++i) {
      const __m256 lanes = _mm256_cvtepi32_ps(q8_0_lanes(qw, load256(q[i] + b * QK8_0)));
      acc[i] = _mm256_fmadd_ps(lanes, _mm256_set1_ps(dw * da[i][b]), acc[i]);
    }
  }
  for (int i = 0; i < RM; ++i) a.out[(m + i) * a.N + n] = hsum_f32(acc[i]);
}

void matmul_q8_0_q8_0(const Q8_0MatmulArgs& a, int64_t n0, int64_t n1) {
  // One weight row at a time: a single sequential stream per thread, prefetched PF bytes ahead
  // (across row ends), as the ternary decode kernels.
  prefetch_head(a.w + n0 * a.row_bytes, (size_t)(n1 - n0) * a.row_bytes);
  if (a.M == 1) {
    for (int64_t n = n0; n < n1; ++n) q8_0_row<1>(a, n, 0);
    return;
  }
  for (int64_t n = n0; n < n1; ++n) {
    int64_t m = 0;
    for (; m + 4 <= a.M; m += 4) q8_0_row<4>(a, n, m);
    for (; m + 2 <= a.M; m += 2) q8_0_row<2>(a, n, m);
    for (; m < a.M; ++m) q8_0_row<1>(a, n, m);
  }
}

}  // namespace avx2
}  // namespace bitnet
