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



/** RM activation rows against one F16 weight row: each row runs ggml_vec_dot_f16 (AVX2) exactly, as
 *  matmul_f16_ref: its own 4 × 8 FMA lanes over K & ~31 (s0..s3 over k+0..7, +8..15, +16..23, +24..31),
 *  the same reduction, the tail in double. Each converted weight vector is reused by the RM rows, but
 *  no row's accumulators, their order or the reduction depend on RM: a row's bits are its 1-row bits. */
template <int RM>
static inline void f16_rows_tile(const uint8_t* w, const float* x, int64_t K, float* out, int64_t out_stride) {
  const int64_t np = K & ~(int64_t)31;
  __m256 s[RM][4];
  for (int i = 0; i < RM; ++i)
    for (int j = 0; j < 4; ++j) s[i][j] = _mm256_setzero_ps();
  for (int64_t k = 0; k < np; k += 32) {
    if constexpr (RM == 1)  // decode: each weight read once, PF ahead (see avx512::prefetch_stream, f16_tile512)
      _mm_prefetch((const char*)(w + 2 * k + PF), _MM_HINT_NTA);
    else
      _mm_prefetch((const char*)(w + 2 * k + 1024), _MM_HINT_T0);
    for (int j = 0; j < 4; ++j) {
      const __m256 wv = _mm256_cvtph_ps(load128(w + 2 * k + 16 * j));
      for (int i = 0; i < RM; ++i) s[i][j] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + i * K + k + 8 * j), s[i][j]);
    }
  }
  for (int i = 0; i < RM; ++i) {
    const float* xi = x + i * K;
    double sum = f16_reduce_ggml(s[i][0], s[i][1], s[i][2], s[i][3]);
    for (int64_t k = np; k < K; ++k) sum += (double)(f16_to_f32(load_u16(w + 2 * k)) * xi[k]);
    out[i * out_stride] = (float)sum;
  }
}

/** F16 weights × f32 x: ggml_vec_dot_f16 (AVX2) exactly for every row (f16_rows_tile), 3 activation
 *  rows at a time (12 accumulators + the weight vector fill the 16 ymm registers). */
void matmul_f16(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  const int64_t K = a.K;
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t* w = a.w + n * a.row_bytes;
    _mm_prefetch((const char*)(w + a.row_bytes), _MM_HINT_T0);
    int64_t m = 0;
    for (; m + 3 <= a.M; m += 3) f16_rows_tile<3>(w, a.x + m * K, K, a.out + m * a.N + n, a.N);
    if (a.M - m == 2) f16_rows_tile<2>(w, a.x + m * K, K, a.out + m * a.N + n, a.N);
    else if (a.M - m == 1) f16_rows_tile<1>(w, a.x + m * K, K, a.out + m * a.N + n, a.N);
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

