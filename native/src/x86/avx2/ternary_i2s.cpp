// AVX2 I2_S × int8 matmul (vpmaddubsw: u8 codes × s8 activations into 16-bit pairs, vpmaddwd to
// widen). Saturation is impossible: a pair is at most 2·3·128 = 768 in magnitude (codes up to 3,
// activations down to −128), and at most 32 such pairs (24576 < 32767) are summed in a 16-bit lane
// before widening. The float epilogue keeps the reference's operation order.
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

// ---- I2_S × int8 -------------------------------------------------------------------------------------

/** RN consecutive weight rows from n × RM activation rows from m; all of K. */
template <int RN, int RM>
static inline void i2s_tile(const TernaryMatmulArgs& a, int64_t n, int64_t m) {
  const int64_t nb = a.K / QK_I2S;
  const __m256i m3 = _mm256_set1_epi8(3);
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* w[RN];
  const int8_t* q[RM];
  for (int r = 0; r < RN; ++r) w[r] = a.w + (n + r) * a.row_bytes;
  for (int i = 0; i < RM; ++i) q[i] = a.q + (m + i) * a.K;
  __m256i acc32[RN][RM];
  for (int r = 0; r < RN; ++r)
    for (int i = 0; i < RM; ++i) acc32[r][i] = _mm256_setzero_si256();
  for (int64_t b0 = 0; b0 < nb; b0 += 8) {
    const int64_t b1 = b0 + 8 < nb ? b0 + 8 : nb;
    __m256i acc16[RN][RM];
    for (int r = 0; r < RN; ++r)
      for (int i = 0; i < RM; ++i) acc16[r][i] = _mm256_setzero_si256();
    for (int64_t b = b0; b < b1; ++b) {
      if ((b & 1) == 0)
        for (int r = 0; r < RN; ++r) _mm_prefetch((const char*)(w[r] + b * 32 + PF), _MM_HINT_T0);
      for (int r = 0; r < RN; ++r) {
        const __m256i wv = load256(w[r] + b * 32);
        // value j of the block: code at shift 6 − 2·(j/32) of byte j % 32
        const __m256i f0 = _mm256_and_si256(_mm256_srli_epi16(wv, 6), m3);
        const __m256i f1 = _mm256_and_si256(_mm256_srli_epi16(wv, 4), m3);
        const __m256i f2 = _mm256_and_si256(_mm256_srli_epi16(wv, 2), m3);
        const __m256i f3 = _mm256_and_si256(wv, m3);
        for (int i = 0; i < RM; ++i) {
          const int8_t* qb = q[i] + b * QK_I2S;
          __m256i s = _mm256_add_epi16(_mm256_maddubs_epi16(f0, load256(qb)), _mm256_maddubs_epi16(f1, load256(qb + 32)));
          s = _mm256_add_epi16(s, _mm256_maddubs_epi16(f2, load256(qb + 64)));
          s = _mm256_add_epi16(s, _mm256_maddubs_epi16(f3, load256(qb + 96)));
          acc16[r][i] = _mm256_add_epi16(acc16[r][i], s);
        }
      }
    }
    for (int r = 0; r < RN; ++r)
      for (int i = 0; i < RM; ++i) acc32[r][i] = _mm256_add_epi32(acc32[r][i], _mm256_madd_epi16(acc16[r][i], ones));
  }
  for (int i = 0; i < RM; ++i) {
    const int64_t mi = m + i;
    for (int r = 0; r < RN; ++r) a.out[mi * a.N + n + r] = i2s_epilogue(hsum_i32(acc32[r][i]), a.sum[mi], a.scale[mi], a.wscale);
  }
}

/**
 * One I2_S weight row × one activation row (decode), its 8 int32 lanes (their sum is the row's dot).
 * The four 2-bit fields are masked in place in two scale classes instead of being shifted down one
 * by one: with h = w >> 4 (16-bit shift), `h & 0x0C` = 4·code of q[0..32), `h & 0x03` = code of
 * q[32..64), `w & 0x0C` = 4·code of q[64..96), `w & 0x03` = code of q[96..128): one shift and four
 * ANDs per 128 values instead of three shifts and four ANDs. The ×4 class is summed apart and divided
 * by 4 (exact: every 16-bit lane of it is a multiple of 4) when widened. 16-bit sums: a ×4-class pair
 * is at most 2·12·128 = 3072 (stray code 3 included), two per block, so four blocks (24576) fit
 * before widening, and the ×1 class plus a quarter of the ×4 class fits too.
 */
static inline __m256i i2s_row_lanes(const TernaryMatmulArgs& a, int64_t n, int64_t m) {
  const int64_t nb = a.K / QK_I2S;
  const __m256i m03 = _mm256_set1_epi8(0x03), m0c = _mm256_set1_epi8(0x0c);
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* w = a.w + n * a.row_bytes;
  const int8_t* q = a.q + m * a.K;
  __m256i acc = _mm256_setzero_si256();
  for (int64_t b0 = 0; b0 < nb; b0 += 4) {
    const int64_t b1 = b0 + 4 < nb ? b0 + 4 : nb;
    __m256i s1 = _mm256_setzero_si256(), s4 = s1;
    for (int64_t b = b0; b < b1; ++b) {
      _mm_prefetch((const char*)(w + b * 32 + PF), _MM_HINT_NTA);  // read once a token: see avx512::prefetch_stream
      const int8_t* qb = q + b * QK_I2S;
      const __m256i v = load256(w + b * 32), h = _mm256_srli_epi16(v, 4);
      s4 = _mm256_add_epi16(s4, _mm256_maddubs_epi16(_mm256_and_si256(h, m0c), load256(qb)));
      s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(_mm256_and_si256(h, m03), load256(qb + 32)));
      s4 = _mm256_add_epi16(s4, _mm256_maddubs_epi16(_mm256_and_si256(v, m0c), load256(qb + 64)));
      s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(_mm256_and_si256(v, m03), load256(qb + 96)));
    }
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_add_epi16(s1, _mm256_srai_epi16(s4, 2)), ones));
  }
  return acc;
}


void matmul_i2s_i8(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  if (a.M == 1) {
    prefetch_head(a.w + n0 * a.row_bytes, (size_t)(n1 - n0) * a.row_bytes);
    // One row at a time (pairing rows shares activation loads, faster from cache, but makes two
    // streams per thread, which measured slower from memory). The float epilogue of 8 rows runs at
    // once, vectorized with the same operations in the same order: per row it is a latency chain
    // (horizontal sum, convert, divide, multiply) that would otherwise stall the next row's loop.
    const __m256 s = _mm256_set1_ps(a.scale[0]), ws = _mm256_set1_ps(a.wscale);
    const __m256i sum = _mm256_set1_epi32(a.sum[0]);
    int64_t n = n0;
    for (; n + 8 <= n1; n += 8) {
      __m256i l[8];
      for (int r = 0; r < 8; ++r) l[r] = i2s_row_lanes(a, n + r, 0);
      // dots of rows n..n+7 in order: pairwise hadds, then the two 128-bit halves
      const __m256i h01 = _mm256_hadd_epi32(l[0], l[1]), h23 = _mm256_hadd_epi32(l[2], l[3]);
      const __m256i h45 = _mm256_hadd_epi32(l[4], l[5]), h67 = _mm256_hadd_epi32(l[6], l[7]);
      const __m256i h0123 = _mm256_hadd_epi32(h01, h23), h4567 = _mm256_hadd_epi32(h45, h67);
      const __m256i dots = _mm256_add_epi32(_mm256_permute2x128_si256(h0123, h4567, 0x20), _mm256_permute2x128_si256(h0123, h4567, 0x31));
      const __m256 t = _mm256_cvtepi32_ps(_mm256_sub_epi32(dots, sum));
      _mm256_storeu_ps(a.out + n, _mm256_mul_ps(_mm256_div_ps(t, s), ws));
    }
    for (; n < n1; ++n) a.out[n] = i2s_epilogue(hsum_i32(i2s_row_lanes(a, n, 0)), a.sum[0], a.scale[0], a.wscale);
    return;
  }
  panel_tiles(a, n0, n1, [&](int64_t n, int64_t m, auto rm) { i2s_tile<1, decltype(rm)::value>(a, n, m); });
}

}  // namespace avx2
}  // namespace bitnet
