// matmulI8rI8 in 256-bit register tiles, templated on how 32-bit lanes take their products (the AVX2
// kernel widens codes and activations to 16 bits for vpmaddwd, since u8 codes × s8 would saturate
// vpmaddubsw; the AVX-VNNI one uses vpdpbusd). Tiles of R weight rows × up to 4 activation rows share
// their loads; more activation rows are further passes over the same tile (from L1). The activations
// are copied once per call and thread to 64-byte aligned rows. Each output's integer sum is exact, so
// the result is the reference's bit for bit.
//
// Zen 4 running the AVX2 table (BITNET_ISA=avx2), two threads, the 2B4T copy (128256 × 2560): 4
// activation rows 19–21 → 12–16 ms, 8 rows 36–37 → 21–27 ms, 1 row unchanged (11–13 ms); in cache (256
// × 2560), 8 rows 61–67 → 102–120 G multiply-adds/s. The earlier tiles kept the accumulators of a 2 × 4
// tile past the 16 registers (one spilled, and its store-to-load chain bounded the loop), widened each
// activation vector at every load, and swept blocks of 64 weight rows per group of 4 activation rows
// (the second group from L2). The AVX2 copy now holds the activations widened to 16 bits (Dot::A).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "../../core/i8r_rows.h"
#include "../../core/kernel_table.h"
#include "../intrin.h"

namespace bitnet {
namespace i8r256 {

inline int32_t hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
  return _mm_cvtsi128_si32(s);
}

/**
 * Rows w[0 .. R) (K codes each) × activation rows q[0 .. MB) (aligned, `qs` elements apart): their
 * accumulators into acc. The weights are loaded once per step and each activation vector once, held in
 * a register for its R uses (Dot::dot accumulates in place: with sixteen ymm registers, GCC's copies of
 * the accumulators around each step spilled one to the stack, and its store-to-load chain bounded the
 * loop). pf: the distance (bytes) at which the code stream is prefetched, once per 64 bytes, 0 for none.
 */
template <class Dot, int R, int MB>
inline void tile(const uint8_t* w, int64_t K, const typename Dot::A* q, int64_t qs, __m256i (*acc)[4], int64_t pf, bool l2) {
  __m256i s[R][MB];
  for (int r = 0; r < R; ++r)
    for (int m = 0; m < MB; ++m) s[r][m] = _mm256_setzero_si256();
  for (int64_t k0 = 0; k0 < K; k0 += 64) {
    if (pf)
      for (int r = 0; r < R; ++r) {
        const char* p = (const char*)(w + r * K + k0 + pf);
        if (l2) _mm_prefetch(p, _MM_HINT_T1);
        else _mm_prefetch(p, _MM_HINT_T0);
      }
    const int64_t k1 = std::min<int64_t>(K, k0 + 64);  // K is a multiple of 32
    for (int64_t k = k0; k < k1; k += Dot::kStep) {
      typename Dot::W wv[R];
      for (int r = 0; r < R; ++r) wv[r] = Dot::load_w(w + r * K + k);
      for (int m = 0; m < MB; ++m) {
        const __m256i av = Dot::keep(Dot::load_a(q + m * qs + k));
        for (int r = 0; r < R; ++r) s[r][m] = Dot::dot(s[r][m], wv[r], av);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int m = 0; m < MB; ++m) acc[r][m] = s[r][m];
}

/** Weight rows per tile for MB ≤ 4 activation rows (R·MB accumulators, R weights and one activation in 16 ymm). */
constexpr int rows_for(int MB) { return MB <= 2 ? 4 : 2; }

/**
 * Rows [n, n + R) × all M activation rows: passes of up to 4 activation rows over the tile's weights
 * (the first from memory, the others from L1), then the outputs. The first two passes prefetch the code
 * stream, one and two tiles ahead: when only the first did, the stream stopped while the later passes
 * computed (as in the AVX-512 kernel).
 */
template <class Dot, int R>
inline void tile_rows(const I8rMatmulArgs& a, int64_t n, const typename Dot::A* aq, int64_t qs) {
  const int64_t K = a.K;
  const uint8_t* w = a.codes + n * K;
  __m256i acc[R][4];
  for (int64_t m0 = 0, g = 0; m0 < a.M; m0 += 4, ++g) {
    const int64_t pf = g < 2 ? (g + 1) * R * K : 0;
    const typename Dot::A* q = aq + m0 * qs;
    const int mb = (int)std::min<int64_t>(4, a.M - m0);
    switch (mb) {
      case 1: tile<Dot, R, 1>(w, K, q, qs, acc, pf, a.stream_l2); break;
      case 2: tile<Dot, R, 2>(w, K, q, qs, acc, pf, a.stream_l2); break;
      case 3: tile<Dot, R, 3>(w, K, q, qs, acc, pf, a.stream_l2); break;
      default: tile<Dot, R, 4>(w, K, q, qs, acc, pf, a.stream_l2); break;
    }
    for (int m = 0; m < mb; ++m)
      for (int r = 0; r < R; ++r)
        a.out[(m0 + m) * a.N + n + r] = i8r::out_value(hsum_i32(acc[r][m]), a.sum[m0 + m], a.scale[m0 + m], a.wscale[n + r]);
  }
}

/** The activation rows in Dot's form (Dot::copy_row) at 64-byte aligned rows of qs elements (per thread, kept between calls). */
template <class Dot>
inline const typename Dot::A* aligned_rows(const I8rMatmulArgs& a, int64_t qs) {
  thread_local std::vector<uint8_t> buf;
  const size_t need = (size_t)(a.M * qs) * sizeof(typename Dot::A) + 64;
  if (buf.size() < need) buf.resize(need);
  auto* p = reinterpret_cast<typename Dot::A*>(buf.data() + ((64 - ((uintptr_t)buf.data() & 63)) & 63));
  for (int64_t m = 0; m < a.M; ++m) Dot::copy_row(p + m * qs, a.q + m * a.K, a.K);
  return p;
}

/**
 * Output rows [n0, n1) of all M activation rows. A whole call's tiles share one width, chosen for its
 * widest pass (M ≤ 2: 4 weight rows, otherwise 2), the rest one row at a time.
 */
template <class Dot>
void matmul(const I8rMatmulArgs& a, int64_t n0, int64_t n1) {
  const int64_t qs = (a.K + 63) / 64 * 64;
  const typename Dot::A* aq = aligned_rows<Dot>(a, qs);
  auto sweep = [&](auto rc) {
    constexpr int R = decltype(rc)::value;
    int64_t n = n0;
    for (; n + R <= n1; n += R) tile_rows<Dot, R>(a, n, aq, qs);
    for (; n < n1; ++n) tile_rows<Dot, 1>(a, n, aq, qs);
  };
  if (a.M <= 2) sweep(std::integral_constant<int, rows_for(2)>{});
  else sweep(std::integral_constant<int, rows_for(4)>{});
}

}  // namespace i8r256
}  // namespace bitnet
