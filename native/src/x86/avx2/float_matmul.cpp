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
#include "kernels.h"
#include "simd.h"

namespace bitnet {
namespace avx2 {

// ---- float weights × f32 activations -------------------------------------------------------------------

struct LoadF32 {
  static inline __m256 load8(const uint8_t* row, int64_t k) { return _mm256_loadu_ps((const float*)row + k); }
  static inline float load1(const uint8_t* row, int64_t k) { return ((const float*)row)[k]; }
  static constexpr int kBytes = 4;
};
struct LoadF16 {
  static inline __m256 load8(const uint8_t* row, int64_t k) { return _mm256_cvtph_ps(load128(row + 2 * k)); }
  static inline float load1(const uint8_t* row, int64_t k) { return f16_to_f32(load_u16(row + 2 * k)); }
  static constexpr int kBytes = 2;
};
struct LoadBF16 {
  static inline __m256 load8(const uint8_t* row, int64_t k) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(row + 2 * k)), 16));
  }
  static inline float load1(const uint8_t* row, int64_t k) { return bf16_to_f32(load_u16(row + 2 * k)); }
  static constexpr int kBytes = 2;
};

/** RN weight rows (pointers) × RM activation rows: out[i][r] = Σ_k w[r][k]·x[i][k]. */
template <class L, int RN, int RM>
static inline void float_tile(const uint8_t* const* w, const float* const* x, int64_t K, float (*res)[RN]) {
  __m256 acc[RN][RM];
  for (int r = 0; r < RN; ++r)
    for (int i = 0; i < RM; ++i) acc[r][i] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) {
    if ((k & 31) == 0)
      for (int r = 0; r < RN; ++r) _mm_prefetch((const char*)(w[r] + k * L::kBytes + 1536), _MM_HINT_T0);
    __m256 xv[RM];
    for (int i = 0; i < RM; ++i) xv[i] = _mm256_loadu_ps(x[i] + k);
    for (int r = 0; r < RN; ++r) {
      const __m256 wv = L::load8(w[r], k);
      for (int i = 0; i < RM; ++i) acc[r][i] = _mm256_fmadd_ps(wv, xv[i], acc[r][i]);
    }
  }
  for (int r = 0; r < RN; ++r)
    for (int i = 0; i < RM; ++i) {
      float s = hsum_f32(acc[r][i]);
      for (int64_t kk = k; kk < K; ++kk) s += L::load1(w[r], kk) * x[i][kk];
      res[i][r] = s;
    }
}

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

/** k-quant / Q8_0 rows: dequantize 4 rows at a time into f32, then the f32 tile. */
template <DequantRowFn DEQ>
static void matmul_quant_simd(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  const int RN = 4;
  float* buf = static_cast<float*>(std::aligned_alloc(64, ((size_t)a.K * 4 * RN + 63) / 64 * 64));
  const uint8_t* w[RN];
  const float* x[4];
  float res[4][RN];
  for (int64_t n = n0; n < n1; n += RN) {
    const int rn = n + RN <= n1 ? RN : (int)(n1 - n);
    for (int r = 0; r < rn; ++r) {
      DEQ(a.w + (n + r) * a.row_bytes, buf + r * a.K, a.K, 0.0f);
      w[r] = (const uint8_t*)(buf + r * a.K);
    }
    for (int64_t m = 0; m < a.M; ++m) {
      x[0] = a.x + m * a.K;
      if (rn == RN) {
        float_tile<LoadF32, RN, 1>(w, x, a.K, res);
      } else {
        for (int r = 0; r < rn; ++r) {
          float one[1][1];
          float_tile<LoadF32, 1, 1>(&w[r], x, a.K, one);
          res[0][r] = one[0][0];
        }
      }
      for (int r = 0; r < rn; ++r) a.out[m * a.N + n + r] = res[0][r];
    }
  }
  std::free(buf);
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

void matmul_f32(const FloatMatmulArgs& a, int64_t n0, int64_t n1) { matmul_float_simd<LoadF32>(a, n0, n1); }
void matmul_bf16(const FloatMatmulArgs& a, int64_t n0, int64_t n1) { matmul_float_simd<LoadBF16>(a, n0, n1); }
void matmul_q8_0_f32(const FloatMatmulArgs& a, int64_t n0, int64_t n1) { matmul_quant_simd<dequant_row_q8_0>(a, n0, n1); }
void matmul_q4_k_f32(const FloatMatmulArgs& a, int64_t n0, int64_t n1) { matmul_quant_simd<dequant_row_q4_k>(a, n0, n1); }
void matmul_q6_k_f32(const FloatMatmulArgs& a, int64_t n0, int64_t n1) { matmul_quant_simd<dequant_row_q6_k>(a, n0, n1); }

}  // namespace avx2
}  // namespace bitnet
