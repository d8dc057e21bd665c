// AVX2 float / k-quant weights × f32 activations. Q8_0 / Q4_K / Q6_K rows are dequantized (the
// header-only row decoders, inlined here) and then run through the f32 tile; F16 reproduces
// ggml_vec_dot_f16 exactly.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "../../core/ggml_math.h"
#include "../../core/dequant_rows.h"
#include "../../core/kernel_table.h"
#include "../../core/scalar.h"
#include "../../ref/ref.h"
#include "float_tile.h"
#include "kernels.h"
#include "simd.h"

namespace bitnet {
namespace avx2 {

// ---- float weights × f32 activations -------------------------------------------------------------------


template <class L, int RN, int RM>
static void float_rows(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  int64_t n = n0;
  const uint8_t* w[RN];
  const float* x[RM];
  float res[RM][RN];
  for (; n + RN <= n1; n += RN) {
    for (int r = 0; r < RN; ++r) w[r] = a.w + (n + r) * a.row_bytes;
    int64_t m = 0;
    for (; m + RM <= a.M; m += RM) {
      for (int i = 0; i < RM; ++i) x[i] = a.x + (m + i) * a.K;
      float_tile<L, RN, RM>(w, x, a.K, res);
      for (int i = 0; i < RM; ++i)
        for (int r = 0; r < RN; ++r) a.out[(m + i) * a.N + n + r] = res[i][r];
    }
    for (; m < a.M; ++m) {
      x[0] = a.x + m * a.K;
      float one[1][RN];
      float_tile<L, RN, 1>(w, x, a.K, one);
      for (int r = 0; r < RN; ++r) a.out[m * a.N + n + r] = one[0][r];
    }
  }
  for (; n < n1; ++n) {
    w[0] = a.w + n * a.row_bytes;
    for (int64_t m = 0; m < a.M; ++m) {
      x[0] = a.x + m * a.K;
      float one[1][1];
      float_tile<L, 1, 1>(w, x, a.K, one);
      a.out[m * a.N + n] = one[0][0];
    }
  }
}

template <class L>
static void matmul_float_simd(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  if (a.M == 1) float_rows<L, 4, 1>(a, n0, n1);
  else if (a.M < 4) float_rows<L, 4, 2>(a, n0, n1);
  else float_rows<L, 2, 4>(a, n0, n1);
}



/** F16 weights × f32 x: ggml_vec_dot_f16 (AVX2) exactly, as matmul_f16_ref (4 × 8 FMA lanes over
 *  K & ~31, the reduction, the tail in double). */
void matmul_f16(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  const int64_t K = a.K, np = K & ~(int64_t)31;
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t* w = a.w + n * a.row_bytes;
    _mm_prefetch((const char*)(w + a.row_bytes), _MM_HINT_T0);
    for (int64_t m = 0; m < a.M; ++m) {
      const float* x = a.x + m * K;
      __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
      for (int64_t k = 0; k < np; k += 32) {
        _mm_prefetch((const char*)(w + 2 * k + 1024), _MM_HINT_T0);
        s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(load128(w + 2 * k)), _mm256_loadu_ps(x + k), s0);
        s1 = _mm256_fmadd_ps(_mm256_cvtph_ps(load128(w + 2 * k + 16)), _mm256_loadu_ps(x + k + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_cvtph_ps(load128(w + 2 * k + 32)), _mm256_loadu_ps(x + k + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_cvtph_ps(load128(w + 2 * k + 48)), _mm256_loadu_ps(x + k + 24), s3);
      }
      double sum = f16_reduce_ggml(s0, s1, s2, s3);
      for (int64_t k = np; k < K; ++k) sum += (double)(f16_to_f32(load_u16(w + 2 * k)) * x[k]);
      a.out[m * a.N + n] = (float)sum;
    }
  }
}

// The table entries are the template instances themselves (pointers, not wrappers calling them): the
// compiler then builds each instance as one function, as it did when the table named them directly;
// a wrapper let it inline the whole loop, measured a few percent slower for Q6_K.
extern const FloatMatmulFn matmul_f32 = matmul_float_simd<LoadF32>;
extern const FloatMatmulFn matmul_bf16 = matmul_float_simd<LoadBF16>;
extern const FloatMatmulFn matmul_q8_0_f32 = matmul_quant_simd<dequant_row_q8_0>;
extern const FloatMatmulFn matmul_q4_k_f32 = matmul_quant_simd<dequant_row_q4_k>;
extern const FloatMatmulFn matmul_q6_k_f32 = matmul_quant_simd<dequant_row_q6_k>;

}  // namespace avx2
}  // namespace bitnet

