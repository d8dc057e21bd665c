// matmulI8rI8 in 256-bit register tiles, templated on how 32-bit lanes take their products (the AVX2
// kernel widens codes and activations to 16 bits for vpmaddwd, since u8 codes × s8 would saturate
// vpmaddubsw; the AVX-VNNI one uses vpdpbusd). Tiles of R weight rows × up to 4 activation rows share
// their loads; each output's integer sum is exact, so the result is the reference's bit for bit.
#pragma once

#include <algorithm>
#include <cstdint>

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

/** Rows [n, n + R) × activation rows [m0, m0 + MB): their outputs. */
template <class Dot, int R, int MB>
inline void tile(const I8rMatmulArgs& a, int64_t n, int64_t m0) {
  const int64_t K = a.K;
  const uint8_t* w = a.codes + n * K;
  const int8_t* q = a.q + m0 * K;
  __m256i acc[R][MB];
  for (int r = 0; r < R; ++r)
    for (int m = 0; m < MB; ++m) acc[r][m] = _mm256_setzero_si256();
  for (int64_t k = 0; k < K; k += Dot::kStep) {
    typename Dot::W wv[R];
    for (int r = 0; r < R; ++r) {
      wv[r] = Dot::load_w(w + r * K + k);
      const char* pf = (const char*)(w + (R + r) * K + k);  // the next tile's rows
      if (a.stream_l2) _mm_prefetch(pf, _MM_HINT_T1);
      else _mm_prefetch(pf, _MM_HINT_T0);
    }
    for (int m = 0; m < MB; ++m) {
      const __m256i av = Dot::load_a(q + m * K + k);
      for (int r = 0; r < R; ++r) acc[r][m] = Dot::dot(acc[r][m], wv[r], av);
    }
  }
  for (int m = 0; m < MB; ++m)
    for (int r = 0; r < R; ++r)
      a.out[(m0 + m) * a.N + n + r] = i8r::out_value(hsum_i32(acc[r][m]), a.sum[m0 + m], a.scale[m0 + m], a.wscale[n + r]);
}

template <class Dot, int MB>
inline void rows(const I8rMatmulArgs& a, int64_t n0, int64_t n1, int64_t m0) {
  constexpr int R = MB == 1 ? 4 : MB == 2 ? 4 : MB == 3 ? 3 : 2;
  int64_t n = n0;
  for (; n + R <= n1; n += R) tile<Dot, R, MB>(a, n, m0);
  for (; n < n1; ++n) tile<Dot, 1, MB>(a, n, m0);
}

/** Output rows [n0, n1) of all M activation rows, in row blocks of 64 (the activation groups of 4 reuse a block's weights from cache). */
template <class Dot>
void matmul(const I8rMatmulArgs& a, int64_t n0, int64_t n1) {
  for (int64_t b = n0; b < n1; b += 64) {
    const int64_t e = std::min(n1, b + 64);
    for (int64_t m0 = 0; m0 < a.M; m0 += 4) {
      switch (std::min<int64_t>(4, a.M - m0)) {
        case 1: rows<Dot, 1>(a, b, e, m0); break;
        case 2: rows<Dot, 2>(a, b, e, m0); break;
        case 3: rows<Dot, 3>(a, b, e, m0); break;
        default: rows<Dot, 4>(a, b, e, m0); break;
      }
    }
  }
}

}  // namespace i8r256
}  // namespace bitnet
