// AVX-512 F32 and BF16 weights × f32 activations (16-lane FMA tiles), and the k-quant / Q8_0 rows
// decoded with 512-bit code. F16 stays on the AVX2 kernel, which reproduces ggml_vec_dot_f16 (AVX2) exactly.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "../../core/ggml_math.h"
#include "../../core/kernel_table.h"
#include "../../core/scalar.h"
#include "../../core/dequant_rows.h"
#include "../avx2/float_tile.h"
#include "../avx2/kernels.h"
#include "../avx2/simd.h"
#include "kernels.h"
#include "simd512.h"

namespace bitnet {
namespace avx512 {

namespace {

// ---- float weights × f32 activations (zmm) ----------------------------------------------------------------

struct Load512F32 {
  static inline __m512 load16(const uint8_t* row, int64_t k) { return _mm512_loadu_ps((const float*)row + k); }
  static inline float load1(const uint8_t* row, int64_t k) { return ((const float*)row)[k]; }
  static constexpr int kBytes = 4;
};
struct Load512F16 {
  static inline __m512 load16(const uint8_t* row, int64_t k) { return cvtph512(load256(row + 2 * k)); }
  static inline float load1(const uint8_t* row, int64_t k) { return f16_to_f32(load_u16(row + 2 * k)); }
  static constexpr int kBytes = 2;
};
struct Load512BF16 {
  static inline __m512 load16(const uint8_t* row, int64_t k) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(cvtepu16_512(load256(row + 2 * k)), 16));
  }
  static inline float load1(const uint8_t* row, int64_t k) { return bf16_to_f32(load_u16(row + 2 * k)); }
  static constexpr int kBytes = 2;
};

template <class L, int RN, int RM>
static inline void float_tile512(const uint8_t* const* w, const float* const* x, int64_t K, float (*res)[RN]) {
  __m512 acc[RN][RM];
  for (int r = 0; r < RN; ++r)
    for (int i = 0; i < RM; ++i) acc[r][i] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    if ((k & 31) == 0)
      for (int r = 0; r < RN; ++r) _mm_prefetch((const char*)(w[r] + k * L::kBytes + 1536), _MM_HINT_T0);
    __m512 xv[RM];
    for (int i = 0; i < RM; ++i) xv[i] = _mm512_loadu_ps(x[i] + k);
    for (int r = 0; r < RN; ++r) {
      const __m512 wv = L::load16(w[r], k);
      for (int i = 0; i < RM; ++i) acc[r][i] = _mm512_fmadd_ps(wv, xv[i], acc[r][i]);
    }
  }
  for (int r = 0; r < RN; ++r)
    for (int i = 0; i < RM; ++i) {
      float s = hsum512_ps(acc[r][i]);
      for (int64_t kk = k; kk < K; ++kk) s += L::load1(w[r], kk) * x[i][kk];
      res[i][r] = s;
    }
}

template <class L, int RN, int RM>
static void float_rows512(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  const uint8_t* w[RN];
  const float* x[RM];
  int64_t n = n0;
  for (; n + RN <= n1; n += RN) {
    for (int r = 0; r < RN; ++r) w[r] = a.w + (n + r) * a.row_bytes;
    int64_t m = 0;
    for (; m + RM <= a.M; m += RM) {
      float res[RM][RN];
      for (int i = 0; i < RM; ++i) x[i] = a.x + (m + i) * a.K;
      float_tile512<L, RN, RM>(w, x, a.K, res);
      for (int i = 0; i < RM; ++i)
        for (int r = 0; r < RN; ++r) a.out[(m + i) * a.N + n + r] = res[i][r];
    }
    for (; m < a.M; ++m) {
      float res[1][RN];
      x[0] = a.x + m * a.K;
      float_tile512<L, RN, 1>(w, x, a.K, res);
      for (int r = 0; r < RN; ++r) a.out[m * a.N + n + r] = res[0][r];
    }
  }
  for (; n < n1; ++n) {
    w[0] = a.w + n * a.row_bytes;
    for (int64_t m = 0; m < a.M; ++m) {
      float res[1][1];
      x[0] = a.x + m * a.K;
      float_tile512<L, 1, 1>(w, x, a.K, res);
      a.out[m * a.N + n] = res[0][0];
    }
  }
}

}  // namespace

template <class L>
static void matmul_float512(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  if (a.M == 1) float_rows512<L, 4, 1>(a, n0, n1);
  else if (a.M < 4) float_rows512<L, 4, 2>(a, n0, n1);
  else float_rows512<L, 2, 4>(a, n0, n1);
}

// The table entries are the template instances themselves (pointers, not wrappers calling them): the
// compiler then builds each instance as one function, as it did when the table named them directly;
// a wrapper let it inline the whole loop, measured a few percent slower for Q6_K.
extern const FloatMatmulFn matmul_f32_512 = matmul_float512<Load512F32>;
extern const FloatMatmulFn matmul_bf16_512 = matmul_float512<Load512BF16>;

// Q8_0 / Q4_K / Q6_K: the AVX2 tables' dequantize-then-tile loop (same 8-lane arithmetic, same bits),
// compiled here so that the row decoders vectorize with 512-bit registers.
extern const FloatMatmulFn matmul_q8_0_f32 = matmul_quant_simd<dequant_row_q8_0>;
extern const FloatMatmulFn matmul_q4_k_f32 = matmul_quant_simd<dequant_row_q4_k>;
extern const FloatMatmulFn matmul_q6_k_f32 = matmul_quant_simd<dequant_row_q6_k>;

}  // namespace avx512
}  // namespace bitnet
