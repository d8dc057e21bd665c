// AVX2 TQ2_0 and TQ1_0 × Q8_K matmuls: ggml_vec_dot_tq*_q8_K's integer lanes and float epilogue.
// 16-bit sums stay below saturation as in ternary_i2s.cpp.
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
#include "tq1_unpack.h"

namespace bitnet {
namespace avx2 {

// ---- TQ2_0 × Q8_K --------------------------------------------------------------------------------------

/**
 * One TQ2_0 weight row n × RM activation rows from m; per block, tq_lane_epilogue. The weight fields
 * are masked in place in two scale classes (see tq2_block_dot) once per block and shared by the RM
 * rows; each row keeps its ×1 and ×4 16-bit sums apart until the block's lanes are widened.
 */
template <int RM>
static inline void tq2_row(const TernaryMatmulArgs& a, int64_t n, int64_t m) {
  const int64_t nb = a.K / QK_K;
  const __m256i m03 = _mm256_set1_epi8(0x03), m0c = _mm256_set1_epi8(0x0c);
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* w = a.w + n * a.row_bytes;
  const int8_t* q[RM];
  for (int i = 0; i < RM; ++i) q[i] = a.q + (m + i) * a.K;
  __m256 acc[RM];
  for (int i = 0; i < RM; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = w + b * TQ2_0_BYTES;
    _mm_prefetch((const char*)(wb + PF), _MM_HINT_T0);
    _mm_prefetch((const char*)(wb + PF + 64), _MM_HINT_T0);
    __m256i s1[RM], s4[RM];
    for (int i = 0; i < RM; ++i) s1[i] = s4[i] = _mm256_setzero_si256();
    for (int c = 0; c < 2; ++c) {
      const __m256i wv = load256(wb + 32 * c), h = _mm256_srli_epi16(wv, 4);
      const __m256i fa = _mm256_and_si256(wv, m03), fb = _mm256_and_si256(wv, m0c);
      const __m256i fc = _mm256_and_si256(h, m03), fd = _mm256_and_si256(h, m0c);
      for (int i = 0; i < RM; ++i) {
        const int8_t* qb = q[i] + b * QK_K + 128 * c;
        s1[i] = _mm256_add_epi16(s1[i], _mm256_add_epi16(_mm256_maddubs_epi16(fa, load256(qb)), _mm256_maddubs_epi16(fc, load256(qb + 64))));
        s4[i] = _mm256_add_epi16(s4[i], _mm256_add_epi16(_mm256_maddubs_epi16(fb, load256(qb + 32)), _mm256_maddubs_epi16(fd, load256(qb + 96))));
      }
    }
    const float dw = _cvtsh_ss(load_u16(wb + 64));
    for (int i = 0; i < RM; ++i) {
      const int64_t blk = (m + i) * nb + b;
      const __m256i lanes = _mm256_madd_epi16(_mm256_add_epi16(s1[i], _mm256_srai_epi16(s4[i], 2)), ones);
      acc[i] = tq_lane_epilogue(acc[i], lanes, a.sum + blk * 8, dw, a.scale[blk]);
    }
  }
  for (int i = 0; i < RM; ++i) a.out[(m + i) * a.N + n] = hsum_f32(acc[i]);
}

/**
 * One TQ2_0 block × one activation row: its 8 int32 lanes (lane k: Σ q·a over elements with
 * (e mod 32) >> 2 == k). Fields are masked in place in two scale classes (as in i2s_row_lanes): with
 * h = w >> 4, `w & 3` → q[0..32), `w & 0x0C` = 4·code → q[32..64), `h & 3` → q[64..96), `h & 0x0C`
 * → q[96..128) of each 128-half; the ×4 class (at most 4·2·12·128 = 12288 per 16-bit lane) is
 * divided by 4 exactly before widening. Every 16-bit lane holds the same integer as the plain
 * shift-and-mask decode, so the lanes are those of the contract.
 */
static inline __m256i tq2_block_dot(const uint8_t* wb, const int8_t* qb) {
  const __m256i m03 = _mm256_set1_epi8(0x03), m0c = _mm256_set1_epi8(0x0c);
  __m256i s1 = _mm256_setzero_si256(), s4 = _mm256_setzero_si256();
  for (int c = 0; c < 2; ++c) {
    const __m256i wv = load256(wb + 32 * c), h = _mm256_srli_epi16(wv, 4);
    const int8_t* q = qb + 128 * c;
    s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(_mm256_and_si256(wv, m03), load256(q)));
    s4 = _mm256_add_epi16(s4, _mm256_maddubs_epi16(_mm256_and_si256(wv, m0c), load256(q + 32)));
    s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(_mm256_and_si256(h, m03), load256(q + 64)));
    s4 = _mm256_add_epi16(s4, _mm256_maddubs_epi16(_mm256_and_si256(h, m0c), load256(q + 96)));
  }
  return _mm256_madd_epi16(_mm256_add_epi16(s1, _mm256_srai_epi16(s4, 2)), _mm256_set1_epi16(1));
}

/** One row × one activation row (decode). */
static inline void tq2_row1(const TernaryMatmulArgs& a, int64_t n, int64_t m) {
  const int64_t nb = a.K / QK_K;
  const uint8_t* w = a.w + n * a.row_bytes;
  const int8_t* q = a.q + m * a.K;
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = w + b * TQ2_0_BYTES;
    _mm_prefetch((const char*)(wb + PF), _MM_HINT_NTA);  // read once a token: see avx512::prefetch_stream
    _mm_prefetch((const char*)(wb + PF + 64), _MM_HINT_NTA);
    const int64_t blk = m * nb + b;
    acc = tq_lane_epilogue(acc, tq2_block_dot(wb, q + b * QK_K), a.sum + blk * 8, _cvtsh_ss(load_u16(wb + 64)), a.scale[blk]);
  }
  a.out[m * a.N + n] = hsum_f32(acc);
}

void matmul_tq2_0_q8k(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  if (a.M == 1) {
    for (int64_t n = n0; n < n1; ++n) tq2_row1(a, n, 0);
    return;
  }
  panel_tiles(a, n0, n1, [&](int64_t n, int64_t m, auto rm) { tq2_row<decltype(rm)::value>(a, n, m); });
}

// ---- TQ1_0 × Q8_K --------------------------------------------------------------------------------------

template <int RM>
static inline void tq1_row(const TernaryMatmulArgs& a, int64_t n, int64_t m, const QhTable& qh) {
  const int64_t nb = a.K / QK_K;
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* w = a.w + n * a.row_bytes;
  const int8_t* q[RM];
  for (int i = 0; i < RM; ++i) q[i] = a.q + (m + i) * a.K;
  __m256 acc[RM];
  for (int i = 0; i < RM; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = w + b * TQ1_0_BYTES;
    _mm_prefetch((const char*)(wb + PF), _MM_HINT_T0);
    __m256i c[8];
    tq1_unpack(wb, c, qh);
    const float dw = _cvtsh_ss(load_u16(wb + 52));
    for (int i = 0; i < RM; ++i) {
      const int8_t* qb = q[i] + b * QK_K;
      __m256i s = _mm256_setzero_si256();
      for (int k = 0; k < 8; ++k) s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c[k], load256(qb + 32 * k)));
      const int64_t blk = (m + i) * nb + b;
      acc[i] = tq_lane_epilogue(acc[i], _mm256_madd_epi16(s, ones), a.sum + blk * 8, dw, a.scale[blk]);
    }
  }
  for (int i = 0; i < RM; ++i) a.out[(m + i) * a.N + n] = hsum_f32(acc[i]);
}

/** Decode: one row × one activation row. */
static inline void tq1_row1(const TernaryMatmulArgs& a, int64_t n, int64_t m, const QhTable& qh) {
  const int64_t nb = a.K / QK_K;
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* w = a.w + n * a.row_bytes;
  const int8_t* q = a.q + m * a.K;
  auto block = [&](int64_t b) {
    const uint8_t* wb = w + b * TQ1_0_BYTES;
    _mm_prefetch((const char*)(wb + PF), _MM_HINT_NTA);
    __m256i c[8];
    tq1_unpack(wb, c, qh);
    const int8_t* qb = q + b * QK_K;
    __m256i s = _mm256_setzero_si256();
    for (int k = 0; k < 8; ++k) s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c[k], load256(qb + 32 * k)));
    return _mm256_madd_epi16(s, ones);
  };
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const int64_t blk = m * nb + b;
    acc = tq_lane_epilogue(acc, block(b), a.sum + blk * 8, _cvtsh_ss(load_u16(w + b * TQ1_0_BYTES + 52)), a.scale[blk]);
  }
  a.out[m * a.N + n] = hsum_f32(acc);
}

void matmul_tq1_0_q8k(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  static const QhTable qh;
  if (a.M == 1) {
    for (int64_t n = n0; n < n1; ++n) tq1_row1(a, n, 0, qh);
    return;
  }
  for (int64_t n = n0; n < n1; ++n) {
    int64_t m = 0;
    for (; m + 4 <= a.M; m += 4) tq1_row<4>(a, n, m, qh);
    for (; m < a.M; ++m) tq1_row<1>(a, n, m, qh);
  }
}

}  // namespace avx2
}  // namespace bitnet
