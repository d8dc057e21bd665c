// AVX-VNNI (256-bit, VEX-encoded vpdpbusd) I2_S × int8 and TQ2_0 × Q8_K matmuls, for CPUs that have
// AVX-VNNI but not AVX-512 (Intel client cores since Alder Lake, Sierra Forest). Compiled with
// -mavx2 -mfma -mf16c -mavxvnni; everything else in the table is the AVX2 kernels (table.cpp).
//
// vpdpbusd adds four u8·s8 products into each int32 lane: the 2-bit codes (0..3) are the u8 side and
// the activations the s8 side, so one instruction replaces vpmaddubsw + vpmaddwd + vpaddd and no
// 16-bit partial sum exists to saturate. The integer sums are exact, hence equal to the AVX2 kernels'
// and the reference's; the float epilogues are the AVX2 kernels' helpers (i2s_epilogue,
// tq_lane_epilogue, hsum_f32) in the same order. The loop structure is the AVX2 one: a weight row
// at a time for decode (one stream per thread), panels of weight rows × up to 4 activation rows
// (panel_tiles) otherwise.
//
// BITNET_AVXVNNI_EMULATED (test-only build, see CMakeLists.txt): compiled for AVX2 with SIMDe's
// AVX512-VNNI emulation of the same 256-bit operation, so machines without AVX-VNNI test this code.
#include <cstdint>

#include "../../core/ggml_math.h"
#include "../../core/kernel_table.h"
#include "../../core/scalar.h"
#include "../avx2/kernels.h"
#include "../avx2/simd.h"
#include "dpbusd256.h"
#include "kernels.h"

namespace bitnet {
namespace avxvnni {

namespace {

/** 2-bit field at bit SH of every byte (codes 0..3 as u8). */
template <int SH>
inline __m256i field(__m256i v, __m256i m3) {
  if constexpr (SH == 0)
    return _mm256_and_si256(v, m3);
  else
    return _mm256_and_si256(_mm256_srli_epi16(v, SH), m3);
}

// ---- I2_S × int8 ---------------------------------------------------------------------------------------

/**
 * One I2_S weight row n × RM activation rows from m: per 128-block (32 bytes), value j's code sits at
 * shift 6 − 2·(j/32) of byte j % 32, so field f (shift 6 − 2f) pairs with activations 32f .. 32f+31.
 * The fields are decoded once and used by the RM rows. Returns nothing: writes the RM outputs.
 */
template <int RM>
inline void i2s_row(const TernaryMatmulArgs& a, int64_t n, int64_t m) {
  // Independent sums per row (vpdpbusd's latency is ~5 cycles): one per field for one row, two for more
  // (16 of the 16 ymm registers for four rows). Integer addition is exact: they are joined at the end.
  constexpr int C = RM == 1 ? 4 : 2;
  const int64_t nb = a.K / QK_I2S;
  const __m256i m3 = _mm256_set1_epi8(3);
  const uint8_t* w = a.w + n * a.row_bytes;
  const int8_t* q[RM];
  for (int i = 0; i < RM; ++i) q[i] = a.q + (m + i) * a.K;
  __m256i acc[RM][C];
  for (int i = 0; i < RM; ++i)
    for (int c = 0; c < C; ++c) acc[i][c] = _mm256_setzero_si256();
  for (int64_t b = 0; b < nb; ++b) {
    if ((b & 1) == 0) _mm_prefetch((const char*)(w + b * 32 + PF), RM == 1 ? _MM_HINT_NTA : _MM_HINT_T0);
    const __m256i wv = load256(w + b * 32);
    const __m256i f[4] = {field<6>(wv, m3), field<4>(wv, m3), field<2>(wv, m3), field<0>(wv, m3)};
    for (int i = 0; i < RM; ++i) {
      const int8_t* qb = q[i] + b * QK_I2S;
      for (int k = 0; k < 4; ++k) acc[i][k % C] = dpbusd(acc[i][k % C], f[k], load256(qb + 32 * k));
    }
  }
  for (int i = 0; i < RM; ++i) {
    __m256i t = acc[i][0];
    for (int c = 1; c < C; ++c) t = _mm256_add_epi32(t, acc[i][c]);
    const int64_t mi = m + i;
    a.out[mi * a.N + n] = i2s_epilogue(hsum_i32(t), a.sum[mi], a.scale[mi], a.wscale);
  }
}


// ---- TQ2_0 × Q8_K --------------------------------------------------------------------------------------

/**
 * One TQ2_0 weight row n × RM activation rows from m. A block's 64 code bytes are two 32-byte chunks c;
 * field f (bits 2f) of chunk c holds the values 128c + 32f + j, and a vpdpbusd of it against those 32
 * activations puts exactly the contract's products in lane k = j / 4. Per block, tq_lane_epilogue
 * (the lanes minus the group sums, times da·dw, into 8 f32 lanes); hsum_f32 at the end.
 */
template <int RM>
inline void tq2_row(const TernaryMatmulArgs& a, int64_t n, int64_t m) {
  constexpr int C = RM == 1 ? 4 : 2;  // independent lane sums per row, as in i2s_row
  const int64_t nb = a.K / QK_K;
  const __m256i m3 = _mm256_set1_epi8(3);
  const uint8_t* w = a.w + n * a.row_bytes;
  const int8_t* q[RM];
  for (int i = 0; i < RM; ++i) q[i] = a.q + (m + i) * a.K;
  __m256 acc[RM];
  for (int i = 0; i < RM; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = w + b * TQ2_0_BYTES;
    _mm_prefetch((const char*)(wb + PF), RM == 1 ? _MM_HINT_NTA : _MM_HINT_T0);
    _mm_prefetch((const char*)(wb + PF + 64), RM == 1 ? _MM_HINT_NTA : _MM_HINT_T0);
    __m256i lanes[RM][C];
    for (int i = 0; i < RM; ++i)
      for (int c = 0; c < C; ++c) lanes[i][c] = _mm256_setzero_si256();
    for (int ch = 0; ch < 2; ++ch) {
      const __m256i wv = load256(wb + 32 * ch);
      const __m256i f[4] = {field<0>(wv, m3), field<2>(wv, m3), field<4>(wv, m3), field<6>(wv, m3)};
      for (int i = 0; i < RM; ++i) {
        const int8_t* qb = q[i] + b * QK_K + 128 * ch;
        for (int k = 0; k < 4; ++k) lanes[i][k % C] = dpbusd(lanes[i][k % C], f[k], load256(qb + 32 * k));
      }
    }
    const float dw = _cvtsh_ss(load_u16(wb + 64));
    for (int i = 0; i < RM; ++i) {
      __m256i l = lanes[i][0];
      for (int c = 1; c < C; ++c) l = _mm256_add_epi32(l, lanes[i][c]);
      const int64_t blk = (m + i) * nb + b;
      acc[i] = tq_lane_epilogue(acc[i], l, a.sum + blk * 8, dw, a.scale[blk]);
    }
  }
  for (int i = 0; i < RM; ++i) a.out[(m + i) * a.N + n] = hsum_f32(acc[i]);
}

}  // namespace

void matmul_i2s_i8_vnni(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  if (a.M == 1) {
    prefetch_head(a.w + n0 * a.row_bytes, (size_t)(n1 - n0) * a.row_bytes);
    for (int64_t n = n0; n < n1; ++n) i2s_row<1>(a, n, 0);
    return;
  }
  panel_tiles(a, n0, n1, [&](int64_t n, int64_t m, auto rm) { i2s_row<decltype(rm)::value>(a, n, m); });
}

void matmul_tq2_0_q8k_vnni(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  if (a.M == 1) {
    for (int64_t n = n0; n < n1; ++n) tq2_row<1>(a, n, 0);
    return;
  }
  panel_tiles(a, n0, n1, [&](int64_t n, int64_t m, auto rm) { tq2_row<decltype(rm)::value>(a, n, m); });
}

}  // namespace avxvnni
}  // namespace bitnet
