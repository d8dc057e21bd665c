// AVX-512 VNNI register tiles for ternary matmuls with several activation rows (prefill chunks,
// batched decode): RN weight rows × RM activation rows per tile, every weight vector decoded once
// into registers and applied to the RM rows, every activation vector loaded once and applied to the
// RN weight rows, with one vpdpbusd accumulator per (weight row, activation row).
//
// Exactness and batch invariance: the integer sums are exact, so each output's integer dot (I2_S) or
// block lanes (TQ2_0) equal the reference's whatever the tile; the float epilogue of each output is
// the one of the one-row kernels, in the same order (I2_S: i2s_epilogue; TQ2_0: per block
// fmaf(float(lane − gsum), da·dw, acc) on 8 lanes, then hsum_f32). Two TQ2_0 outputs share one zmm
// ([activation row m lanes | row m+1 lanes] of one weight row); every operation on it is element-wise,
// so each half rounds as the 256-bit kernel does. A row's result does not depend on which tile (or
// how many rows, or which partner row) it is in.
//
// Cache blocking (as avx2::panel_tiles): a panel of weight rows (~16 KB, stays in L2) is swept once
// per group of activation rows, and the group (RM·K bytes, repacked) stays in L1 meanwhile.
//
// Port use on Zen 5 (measured): vpdpbusd, vfmadd/vmulps, and broadcasts or inserts from memory share the
// two vector pipes that run vpdpbusd at 2 per cycle; shifts, ands, vcvtdq2ps and plain loads do not.
// So the TQ2_0 tiles broadcast each weight chunk once and load paired activations with plain loads
// (the earlier tiles paired weight rows and broadcast every activation run: 48 broadcasts a block).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../../core/ggml_math.h"
#include "../../core/kernel_table.h"
#include "../../core/scalar.h"
#include "../avx2/kernels.h"
#include "../avx2/simd.h"
#include "kernels.h"
#include "simd512.h"

namespace bitnet {
namespace avx512 {

namespace {

// TQ2_0, two tilings (tq2_tiles_512 picks by the number of activation pairs):
// - up to 4 pairs (batched decode, ≤ 8 rows): one group of all of them, 4 weight rows × up to 4 pairs,
//   da·dw by a vmulps per output zmm. 4 × 4 spills some float accumulators, but splitting 4 pairs
//   into 3 + 1 or 2 + 2 ran 9 % slower (Zen 4, 8 rows × 512 × 2560, one thread).
// - more (prefill chunks): 4 weight rows × 3 pairs, 12 sum + 12 float accumulators, a field's activation
//   vectors, the field and two constants in the 32 zmm, so nothing spills, and the products spread
//   (see tq2_tile). Zen 4, one thread, 64 rows: 158–171 → 172–179 G multiply-adds/s.
constexpr int TQ2_RN = 4, TQ2_RP_SMALL = 4, TQ2_RP = 3;
constexpr int I2S_RN = 4, I2S_RMAX = 4;

/** 2-bit field at bit SH of every byte (codes 0..3 as u8). */
template <int SH>
inline __m512i field(__m512i v, __m512i m3) {
  if constexpr (SH == 0)
    return _mm512_and_si512(v, m3);
  else
    return _mm512_and_si512(_mm512_srli_epi16(v, SH), m3);
}

/**
 * sweep_groups over single activation rows (groups of RMAX). Flattened: with two I2_S sweeps (one per
 * prefetch hint) GCC stopped inlining the tiles and their row loops into the sweep, and 2B4T prefill
 * ran ~5 % slower on Zen 4.
 */
template <int RMAX, int RN = 4, class Tile>
__attribute__((flatten)) inline void sweep_tiles(const TernaryMatmulArgs& a, int64_t n0, int64_t n1, Tile&& tile) {
  sweep_groups<RN, RMAX>(a.row_bytes, a.M, n0, n1, tile);
}

// ---- I2_S × int8 -------------------------------------------------------------------------------------

/**
 * Sixteen horizontal sums at once: lane 4q + t of the result is the sum of v[4q + t]'s 16 lanes (integer
 * addition, so the order is free). 15 adds and 30 shuffles instead of 16 × 9 ops.
 */
inline __m512i hsum16x16_i32(const __m512i* v) {
  __m512i t[8], u[4];
  for (int k = 0; k < 8; ++k)  // per 128-bit lane: [a0+a2, b0+b2, a1+a3, b1+b3] of (a, b) = v[2k], v[2k+1]
    t[k] = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2 * k], v[2 * k + 1]), _mm512_unpackhi_epi32(v[2 * k], v[2 * k + 1]));
  for (int q = 0; q < 4; ++q)  // per 128-bit lane: that lane's sums of v[4q .. 4q+3]
    u[q] = _mm512_add_epi32(_mm512_unpacklo_epi64(t[2 * q], t[2 * q + 1]), _mm512_unpackhi_epi64(t[2 * q], t[2 * q + 1]));
  const __m512i s01 = _mm512_add_epi32(_mm512_shuffle_i32x4(u[0], u[1], 0x88), _mm512_shuffle_i32x4(u[0], u[1], 0xDD));
  const __m512i s23 = _mm512_add_epi32(_mm512_shuffle_i32x4(u[2], u[3], 0x88), _mm512_shuffle_i32x4(u[2], u[3], 0xDD));
  return _mm512_add_epi32(_mm512_shuffle_i32x4(s01, s23, 0x88), _mm512_shuffle_i32x4(s01, s23, 0xDD));
}

/**
 * The outputs of a tile of RN (≤ 4) weight rows × RM (≤ 4) activation rows: the integer dots in one zmm
 * (lane 4i + r: activation row m + i, weight row n + r; the other lanes 0), plus a trailing 128-block's
 * dots when K % 256 = 128, then i2s_epilogue on all of them at once — per lane the same convert,
 * subtract, divide and multiply as the scalar one, so the same bits. Single thread, 4 × 4 tiles: ~390 →
 * ~470 G multiply-adds/s (K 2560 and 6912, 8 and 64 rows, Zen 5): sixteen scalar hsums and divisions
 * took a fifth of a 2560-wide tile.
 */
template <int RN, int RM>
inline void i2s_tile_out(const TernaryMatmulArgs& a, int64_t n, int64_t m, const uint8_t* const* w, const __m512i (*acc)[RM]) {
  static_assert(RN >= 1 && RN <= 4 && RM >= 1 && RM <= 4, "one zmm holds at most 4 × 4 dots");
  // Every array is written whole, lane by lane: a zero-initialised one was cleared with `rep stos`,
  // which the vector loads then waited on (the tile ran no faster than sixteen scalar sums).
  __m512i v[16];
  alignas(64) int32_t sums[16];
  alignas(64) float scales[16], res[16];
  for (int i = 0; i < 4; ++i)
    for (int r = 0; r < 4; ++r) {
      const bool in = i < RM && r < RN;
      v[4 * i + r] = in ? acc[in ? r : 0][in ? i : 0] : _mm512_setzero_si512();
      sums[4 * i + r] = i < RM ? a.sum[m + i] : 0;
      scales[4 * i + r] = i < RM ? a.scale[m + i] : 1.0f;
    }
  __m512i dot = hsum16x16_i32(v);
  if (a.K % 256) {  // the trailing 128-block, on the original activation layout
    const int64_t b = a.K / QK_I2S - 1;
    alignas(64) int32_t tail[16];
    for (int i = 0; i < 4; ++i)
      for (int r = 0; r < 4; ++r)
        tail[4 * i + r] = i < RM && r < RN ? i2s_block_dot256(w[r < RN ? r : 0] + 32 * b, a.q + (m + i) * a.K + QK_I2S * b) : 0;
    dot = _mm512_add_epi32(dot, _mm512_load_si512(tail));
  }
  const __m512 t = cvtepi32_512(_mm512_sub_epi32(dot, _mm512_load_si512(sums)));
  _mm512_store_ps(res, _mm512_mul_ps(_mm512_div_ps(t, _mm512_load_ps(scales)), _mm512_set1_ps(a.wscale)));
  for (int i = 0; i < RM; ++i) std::memcpy(a.out + (m + i) * a.N + n, res + 4 * i, sizeof(float) * RN);
}

/**
 * Weight rows n .. n+RN−1 × activation rows m .. m+RM−1 (qp: rows repacked by repack_i2s_row: for
 * the block pair p and group g, 64 bytes at 256p + 64g, the values whose codes sit at bit 6 − 2g of
 * the pair's 64 weight bytes). Fields are shifted down (codes 0..3) into one accumulator per output.
 */
template <bool L2, int RN, int RM>
inline void i2s_tile(const TernaryMatmulArgs& a, int64_t n, int64_t m, const int8_t* qp) {
  const int64_t pairs = a.K / 256;
  const __m512i m3 = _mm512_set1_epi8(3);
  const uint8_t* w[RN];
  const int8_t* q[RM];
  for (int r = 0; r < RN; ++r) w[r] = a.w + (n + r) * a.row_bytes;
  for (int i = 0; i < RM; ++i) q[i] = qp + (m + i) * a.K;
  __m512i acc[RN][RM];
  for (int r = 0; r < RN; ++r)
    for (int i = 0; i < RM; ++i) acc[r][i] = _mm512_setzero_si512();
  for (int64_t p = 0; p < pairs; ++p) {
    __m512i wv[RN];
    for (int r = 0; r < RN; ++r) {
      prefetch_tile<L2>(w[r] + 64 * p);
      wv[r] = load512(w[r] + 64 * p);
    }
    auto group = [&](auto g) {
      constexpr int G = decltype(g)::value;
      __m512i f[RN];
      for (int r = 0; r < RN; ++r) f[r] = field<6 - 2 * G>(wv[r], m3);
      for (int i = 0; i < RM; ++i) {
        const __m512i x = load512(q[i] + 256 * p + 64 * G);
        for (int r = 0; r < RN; ++r) acc[r][i] = dpbusd512(acc[r][i], f[r], x);
      }
    };
    group(std::integral_constant<int, 0>{});
    group(std::integral_constant<int, 1>{});
    group(std::integral_constant<int, 2>{});
    group(std::integral_constant<int, 3>{});
  }
  i2s_tile_out<RN, RM>(a, n, m, w, acc);
}

// ---- TQ2_0 × Q8_K --------------------------------------------------------------------------------------


/**
 * TQ2_0's ActivationPairs: for block b, chunk c, field f, 64 bytes [run of row 2P | run of row 2P+1] at
 * xp + ((P·nb + b)·8 + 4c + f)·64, where a run is the 32 activations 256b + 128c + 32f .. +31 of its row
 * (the values whose codes sit in field f of chunk c); per (P, b) 16 int32 [−gsum of row 2P | −gsum of
 * row 2P+1] at sums (ng here), and 16 f32 [da ×8 | da ×8] at da.
 */
inline void pack_tq2_pairs(const TernaryMatmulArgs& a, int8_t* xp, int32_t* ng, float* da) {
  const int64_t nb = a.K / QK_K;
  pack_pairs(a.M, nb, 8, xp, ng, da, [&](int64_t m, int64_t b, int8_t* x, int32_t* g, float* d) {
    const int8_t* src = a.q + m * a.K + 256 * b;
    for (int cf = 0; cf < 8; ++cf) std::memcpy(x + 64 * cf, src + 32 * cf, 32);  // cf = 4c + f: 128c + 32f = 32·cf
    for (int k = 0; k < 8; ++k) g[k] = -a.sum[(m * nb + b) * 8 + k];
    for (int k = 0; k < 8; ++k) d[k] = a.scale[m * nb + b];
  });
}

/**
 * Weight rows n .. n+RN−1 × activation pairs P .. P+RP−1. A TQ2_0 block's 64 code bytes are two
 * 32-byte chunks c; field f of chunk c holds the values 128c + 32f + j (j = 0..31). The reference's
 * lane k sums the products at j = 4k..4k+3 over (c, f); a 256-bit vpdpbusd of a field against its run
 * puts exactly those in lane k. Here the chunk is broadcast to both halves of a zmm and each vpdpbusd
 * takes a pair's 64 bytes, so each half is one activation row's 8 lanes and needs no folding. The
 * integer sums start at −gsum, so the lanes come out already minus the group sums (integer addition is
 * exact: the reference's subtraction); then the reference epilogue per half: convert, FMA by da·dw
 * (rounded to f32, as _mm256_set1_ps(da * dw) of the lane epilogue) into 8 f32 lanes, hsum_f32 at the
 * end. Every operation is element-wise on the two halves, so a row's result never depends on its pair.
 *
 * The da·dw products, Spread: on Zen 4 a vmulps takes a vpdpbusd slot, and 16-lane products
 * [da(2P)·dw ×8 | da(2P+1)·dw ×8] take one per output zmm and block (an eighth of the tile's vpdpbusd).
 * With Spread, one block ahead, each weight row's dw multiplies the 8 compact scales da(2P .. 2P+7)
 * (`dc`, see tq2_tiles_512) in one 256-bit vmulps into `prod`; an output zmm loads its two products
 * (8 bytes) and spreads them with vpermps, which issues beside the vpdpbusd. Without, the 16-lane
 * vmulps of t.da and dw. Either way each product is the one rounding of da·dw.
 */
template <bool L2, int RN, int RP, bool Spread>
inline void tq2_tile(const TernaryMatmulArgs& a, const ActivationPairs& t, const float* dc, int64_t dstride, int64_t n, int64_t P) {
  static_assert(RP <= 4, "prod holds the products of 8 activation rows");
  const int64_t nb = a.K / QK_K;
  const __m512i m3 = _mm512_set1_epi8(3);
  const __m512i spread = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  const uint8_t* w[RN];
  for (int r = 0; r < RN; ++r) w[r] = a.w + (n + r) * a.row_bytes;
  alignas(32) float prod[2][RN][8];
  auto products = [&](int64_t b, float (*out)[8]) {
    const __m256 da = _mm256_loadu_ps(dc + b * dstride + 2 * P);
    for (int r = 0; r < RN; ++r) _mm256_store_ps(out[r], _mm256_mul_ps(da, _mm256_set1_ps(_cvtsh_ss(load_u16(w[r] + b * TQ2_0_BYTES + 64)))));
  };
  if constexpr (Spread) products(0, prod[0]);
  __m512 acc[RN][RP];
  for (int r = 0; r < RN; ++r)
    for (int j = 0; j < RP; ++j) acc[r][j] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    for (int r = 0; r < RN; ++r) {
      const uint8_t* wb = w[r] + b * TQ2_0_BYTES;
      prefetch_tile<L2>(wb);
      prefetch_tile<L2>(wb + 64);
    }
    if constexpr (Spread)
      if (b + 1 < nb) products(b + 1, prod[(b + 1) & 1]);
    __m512i s[RN][RP];
    for (int j = 0; j < RP; ++j) {
      const __m512i g = load512(t.sums + ((P + j) * nb + b) * 16);
      for (int r = 0; r < RN; ++r) s[r][j] = g;
    }
    auto group = [&](auto cf) {
      constexpr int C = decltype(cf)::value / 4, F = decltype(cf)::value % 4;
      __m512i x[RP];
      for (int j = 0; j < RP; ++j) x[j] = load512(t.xp + (((P + j) * nb + b) * 8 + 4 * C + F) * 64);
      for (int r = 0; r < RN; ++r) {
        const __m512i f = field<2 * F>(_mm512_broadcast_i64x4(load256(w[r] + b * TQ2_0_BYTES + 32 * C)), m3);
        for (int j = 0; j < RP; ++j) s[r][j] = dpbusd512(s[r][j], f, x[j]);
      }
    };
    group(std::integral_constant<int, 0>{});
    group(std::integral_constant<int, 1>{});
    group(std::integral_constant<int, 2>{});
    group(std::integral_constant<int, 3>{});
    group(std::integral_constant<int, 4>{});
    group(std::integral_constant<int, 5>{});
    group(std::integral_constant<int, 6>{});
    group(std::integral_constant<int, 7>{});
    if constexpr (Spread) {
      const float (*pb)[8] = prod[b & 1];
      for (int r = 0; r < RN; ++r)
        for (int j = 0; j < RP; ++j) {
          const __m128 two = _mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(pb[r] + 2 * j)));  // da·dw of rows 2(P+j), +1
          const __m512 d = _mm512_permutexvar_ps(spread, _mm512_castps128_ps512(two));
          acc[r][j] = _mm512_fmadd_ps(cvtepi32_512(s[r][j]), d, acc[r][j]);
        }
    } else {
      for (int r = 0; r < RN; ++r) {
        const __m512 dw = _mm512_set1_ps(_cvtsh_ss(load_u16(w[r] + b * TQ2_0_BYTES + 64)));
        for (int j = 0; j < RP; ++j) {
          const __m512 d = _mm512_mul_ps(_mm512_loadu_ps(t.da + ((P + j) * nb + b) * 16), dw);
          acc[r][j] = _mm512_fmadd_ps(cvtepi32_512(s[r][j]), d, acc[r][j]);
        }
      }
    }
  }
  for (int j = 0; j < RP; ++j) {
    const int64_t m = 2 * (P + j);
    for (int r = 0; r < RN; ++r) {
      a.out[m * a.N + n + r] = hsum_lo(acc[r][j]);
      if (m + 1 < a.M) a.out[(m + 1) * a.N + n + r] = hsum_hi(acc[r][j]);
    }
  }
}

}  // namespace

void i2s_tiles_512(const TernaryMatmulArgs& a, int64_t n0, int64_t n1, const int8_t* qp) {
  if (a.stream_l2)
    sweep_tiles<I2S_RMAX, I2S_RN>(a, n0, n1, [&](int64_t n, int64_t m, auto rn, auto rm) { i2s_tile<true, decltype(rn)::value, decltype(rm)::value>(a, n, m, qp); });
  else
    sweep_tiles<I2S_RMAX, I2S_RN>(a, n0, n1, [&](int64_t n, int64_t m, auto rn, auto rm) { i2s_tile<false, decltype(rn)::value, decltype(rm)::value>(a, n, m, qp); });
}

void tq2_tiles_512(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  const int64_t nb = a.K / QK_K, pairs = (a.M + 1) / 2;
  Scratch xs((size_t)(pairs * nb * 512), 0), gs((size_t)(pairs * nb * 64), 1), ds((size_t)(pairs * nb * 64), 2);
  const ActivationPairs t{xs.p, reinterpret_cast<int32_t*>(gs.p), reinterpret_cast<float*>(ds.p), pairs};
  pack_tq2_pairs(a, xs.p, reinterpret_cast<int32_t*>(gs.p), reinterpret_cast<float*>(ds.p));
  if (pairs <= TQ2_RP_SMALL) {
    sweep_pair_tiles<TQ2_RN, TQ2_RP_SMALL>(a.stream_l2, a.row_bytes, pairs, n0, n1, [&](auto l2, int64_t n, int64_t P, auto rn, auto rp) {
      tq2_tile<decltype(l2)::value, decltype(rn)::value, decltype(rp)::value, false>(a, t, nullptr, 0, n, P);
    });
    return;
  }
  // Compact activation scales for the spread products: dc[b·dstride + m] = d of row m, block b; the 8
  // slots past the last row are zero, so a tile's 8-wide load from row 2P stays inside.
  const int64_t dstride = 2 * pairs + 8;
  Scratch cs((size_t)(nb * dstride) * sizeof(float), 3);
  float* dc = reinterpret_cast<float*>(cs.p);
  for (int64_t b = 0; b < nb; ++b) {
    float* row = dc + b * dstride;
    for (int64_t m = 0; m < a.M; ++m) row[m] = a.scale[m * nb + b];
    for (int64_t m = a.M; m < dstride; ++m) row[m] = 0.0f;
  }
  sweep_pair_tiles<TQ2_RN, TQ2_RP>(a.stream_l2, a.row_bytes, pairs, n0, n1, [&](auto l2, int64_t n, int64_t P, auto rn, auto rp) {
    tq2_tile<decltype(l2)::value, decltype(rn)::value, decltype(rp)::value, true>(a, t, dc, dstride, n, P);
  });
}

}  // namespace avx512
}  // namespace bitnet
