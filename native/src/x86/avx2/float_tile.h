// Header-only pieces of the float matmuls: row loaders, the f32 FMA tile (8 lanes) and the
// dequantize-then-tile loop of Q8_0 / Q4_K / Q6_K weights. Compiled by the AVX2 float matmuls and by
// the AVX-512 ones, each with its own flags: the arithmetic is the same 8-lane tile either way (so both
// tables give the same bits), while the row decoders inlined into it vectorize to each set's width.
// Internal linkage, as core/scalar.h explains.
#pragma once

#include <cstdint>
#include <cstdlib>

#include "../../core/kernel_table.h"
#include "../../core/scalar.h"
#include "../intrin.h"
#include "simd.h"

namespace bitnet {
namespace {

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
inline void float_tile(const uint8_t* const* w, const float* const* x, int64_t K, float (*res)[RN]) {
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

/** k-quant / Q8_0 rows: dequantize 4 rows at a time into f32, then the f32 tile. */
template <DequantRowFn DEQ>
void matmul_quant_simd(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
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

}  // namespace
}  // namespace bitnet
