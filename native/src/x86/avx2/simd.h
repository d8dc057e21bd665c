// Header-only AVX2 helpers shared by the AVX2 kernel sources and the AVX-512 ones (which include
// this header under their own flags). Internal linkage, as core/scalar.h explains.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "../../core/kernel_table.h"
#include "../intrin.h"

namespace bitnet {
namespace {

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

/** Σ of every int32 lane of v[0 .. n), in 64 bits (the lanes may sum past 2^31). */
inline int64_t lane_sum_i64(const __m256i* v, int n) {
  int64_t s = 0;
  for (int i = 0; i < n; ++i) {
    alignas(32) int32_t l[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(l), v[i]);
    for (int j = 0; j < 8; ++j) s += l[j];
  }
  return s;
}

inline int32_t hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

/** Largest / smallest of the 8 lanes, pairing them as hsum_f32 does (for a NaN lane, max/min keep their second operand). */
inline float hmax_f32(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_max_ss(s, _mm_movehdup_ps(s)));
}
inline float hmin_f32(__m256 v) {
  __m128 s = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_min_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_min_ss(s, _mm_movehdup_ps(s)));
}

inline float hsum_f32(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/**
 * The TQ per-block lane epilogue — ggml_vec_dot_tq2_0_q8_K / ggml_vec_dot_tq1_0_q8_K (AVX2) exactly.
 * `lanes` are the block's 8 int32 lane sums that the integer core produces (the vpmaddwd of its 16-bit
 * sums, codes as stored): lane k = Σ q_e·a_e over the block's elements e with (e mod 32) >> 2 == k.
 * Subtract the 32-group sums (gsum8[k] = Σ a[32k .. 32k+31]), convert, FMA by d = da·dw into the 8 f32
 * lanes of acc. A row's value is hsum_f32(acc) (= ggml's hsum_float_8) after its last block.
 */
inline __m256 tq_lane_epilogue(__m256 acc, __m256i lanes, const int32_t* gsum8, float dw, float da) {
  const __m256i l = _mm256_sub_epi32(lanes, _mm256_loadu_si256((const __m256i*)gsum8));
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(l), _mm256_set1_ps(da * dw), acc);
}

// Software prefetch distance along the weight stream. Kernels walk one weight row at a time (a
// single sequential stream per thread: measured faster than interleaving several short rows), and
// prefetch this far ahead of the current position, across row ends.
constexpr size_t PF = 8192;

/**
 * Cache blocking for several activation rows (prefill chunks, batched decode): a panel of weight rows
 * (about 16 KB, which stays in L2) is swept once per group of up to 4 activation rows, and the group
 * (4·K bytes) stays in L1 while the panel's rows pass over it. Sweeping all M activation rows past
 * each weight row instead reads M·K bytes from L2 for every weight row. tile(n, m, RM) computes
 * weight row n against activation rows m .. m+RM−1 (RM a std::integral_constant: 4, 2 or 1).
 */
template <class Tile>
inline void panel_tiles(const TernaryMatmulArgs& a, int64_t n0, int64_t n1, Tile&& tile) {
  const int64_t np = std::max<int64_t>(4, (int64_t)(16384 / a.row_bytes));
  for (int64_t p = n0; p < n1; p += np) {
    const int64_t pe = std::min(n1, p + np);
    int64_t m = 0;
    for (; m + 4 <= a.M; m += 4)
      for (int64_t n = p; n < pe; ++n) tile(n, m, std::integral_constant<int, 4>{});
    for (; m + 2 <= a.M; m += 2)
      for (int64_t n = p; n < pe; ++n) tile(n, m, std::integral_constant<int, 2>{});
    for (; m < a.M; ++m)
      for (int64_t n = p; n < pe; ++n) tile(n, m, std::integral_constant<int, 1>{});
  }
}

/** Prefetches the first PF bytes of a range about to be streamed (the loop prefetches PF ahead). */
inline void prefetch_head(const uint8_t* p, size_t bytes) {
  const size_t n = bytes < PF ? bytes : PF;
  for (size_t off = 0; off < n; off += 64) _mm_prefetch((const char*)(p + off), _MM_HINT_T0);
}

/** GGML_F32x8_REDUCE of ggml_vec_dot_f16's four accumulators (= ggml_reduce_f16_acc). */
inline float f16_reduce_ggml(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
  a0 = _mm256_add_ps(a0, a2);
  a1 = _mm256_add_ps(a1, a3);
  a0 = _mm256_add_ps(a0, a1);
  const __m128 t0 = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
  const __m128 t1 = _mm_hadd_ps(t0, t0);
  return _mm_cvtss_f32(_mm_hadd_ps(t1, t1));
}

}  // namespace
}  // namespace bitnet
