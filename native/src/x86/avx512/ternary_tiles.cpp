// AVX-512 VNNI register tiles for ternary matmuls with several activation rows (prefill chunks,
// batched decode): RN weight rows × RM activation rows per tile, every weight vector decoded once
// into registers and applied to the RM rows, every activation vector loaded once and applied to the
// RN weight rows, with one vpdpbusd accumulator per (weight row, activation row).
//
// Exactness and batch invariance: the integer sums are exact, so each output's integer dot (I2_S) or
// block lanes (TQ2_0) equal the reference's whatever the tile; the float epilogue of each output is
// the one of the one-row kernels, in the same order (I2_S: i2s_epilogue; TQ2_0: per block
// fmaf(float(lane − gsum), da·dw, acc) on 8 lanes, then hsum_f32). Two TQ2_0 outputs share one zmm
// ([row r lanes | row r+1 lanes]); every operation on it is element-wise, so each half rounds as the
// 256-bit kernel does. A row's result does not depend on which tile (or how many rows) it is in.
//
// Cache blocking (as avx2::panel_tiles): a panel of weight rows (~16 KB, stays in L2) is swept once
// per group of activation rows, and the group (RM·K bytes, repacked) stays in L1 meanwhile.
#include <algorithm>
#include <cstdint>
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

constexpr int TQ2_RMAX = 4;
// Prefill chunks (many activation rows): 4 weight rows × 6 activation rows (12 sum + 12 float
// accumulators of the 32 zmm), single-thread on Zen 5 ~5% faster than 4 × 4 at 64 rows; for 8 rows
// (two groups of 4) it was ~5% slower (6 + 2), hence the threshold.
constexpr int TQ2_RMAX_LONG = 6, TQ2_RMAX_LONG_FROM = 12;
constexpr int I2S_RN = 4, I2S_RMAX = 4;

/** 2-bit field at bit SH of every byte (codes 0..3 as u8). */
template <int SH>
inline __m512i field(__m512i v, __m512i m3) {
  if constexpr (SH == 0)
    return _mm512_and_si512(v, m3);
  else
    return _mm512_and_si512(_mm512_srli_epi16(v, SH), m3);
}

/** The last `rest` (1 .. R) activation rows of a group, in one tile of exactly that many rows. */
template <int R, class Rows>
inline void rest_rows(int64_t rest, Rows&& rows) {
  if constexpr (R >= 1) {
    if (rest == R) rows(std::integral_constant<int, R>{});
    else rest_rows<R - 1>(rest, rows);
  }
}

/**
 * Sweeps [n0, n1) in panels; per panel, activation rows in groups of RMAX (the last group takes
 * the remainder in one tile), weight rows in tiles of 4 and single rows at the end.
 * tile(n, m, RN, RM): RN, RM std::integral_constants.
 */
template <int RMAX, int RN = 4, class Tile>
inline void sweep_tiles(const TernaryMatmulArgs& a, int64_t n0, int64_t n1, Tile&& tile) {
  const int64_t np = std::max<int64_t>(4, (int64_t)(16384 / a.row_bytes) / 4 * 4);
  for (int64_t p = n0; p < n1; p += np) {
    const int64_t pe = std::min(n1, p + np);
    int64_t m = 0;
    auto rows = [&](auto rm) {
      int64_t n = p;
      for (; n + RN <= pe; n += RN) tile(n, m, std::integral_constant<int, RN>{}, rm);
      for (; n < pe; ++n) tile(n, m, std::integral_constant<int, 1>{}, rm);
    };
    for (; m + RMAX <= a.M; m += RMAX) rows(std::integral_constant<int, RMAX>{});
    rest_rows<RMAX - 1>(a.M - m, rows);
  }
}

// ---- I2_S × int8 -------------------------------------------------------------------------------------

/**
 * Weight rows n .. n+RN−1 × activation rows m .. m+RM−1 (qp: rows repacked by repack_i2s_row: for
 * the block pair p and group g, 64 bytes at 256p + 64g, the values whose codes sit at bit 6 − 2g of
 * the pair's 64 weight bytes). Fields are shifted down (codes 0..3) into one accumulator per output.
 */
template <int RN, int RM>
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
      _mm_prefetch((const char*)(w[r] + 64 * p + PF), _MM_HINT_T0);
      wv[r] = load512(w[r] + 64 * p);
    }
    auto group = [&](auto g) {
      constexpr int G = decltype(g)::value;
      __m512i f[RN];
      for (int r = 0; r < RN; ++r) f[r] = field<6 - 2 * G>(wv[r], m3);
      for (int i = 0; i < RM; ++i) {
        const __m512i x = load512(q[i] + 256 * p + 64 * G);
        for (int r = 0; r < RN; ++r) acc[r][i] = _mm512_dpbusd_epi32(acc[r][i], f[r], x);
      }
    };
    group(std::integral_constant<int, 0>{});
    group(std::integral_constant<int, 1>{});
    group(std::integral_constant<int, 2>{});
    group(std::integral_constant<int, 3>{});
  }
  int32_t dot[RN][RM];
  for (int r = 0; r < RN; ++r)
    for (int i = 0; i < RM; ++i) dot[r][i] = hsum512_i32(acc[r][i]);
  if (a.K % 256) {  // one trailing 128-block: 256-bit vpdpbusd on the original activation layout
    const int64_t b = a.K / QK_I2S - 1;
    const __m256i m3y = _mm256_set1_epi8(3);
    for (int r = 0; r < RN; ++r) {
      const __m256i wv = load256(w[r] + 32 * b);
      const __m256i f0 = _mm256_and_si256(_mm256_srli_epi16(wv, 6), m3y), f1 = _mm256_and_si256(_mm256_srli_epi16(wv, 4), m3y);
      const __m256i f2 = _mm256_and_si256(_mm256_srli_epi16(wv, 2), m3y), f3 = _mm256_and_si256(wv, m3y);
      for (int i = 0; i < RM; ++i) {
        const int8_t* qb = a.q + (m + i) * a.K + QK_I2S * b;
        __m256i s = _mm256_dpbusd_epi32(_mm256_setzero_si256(), f0, load256(qb));
        s = _mm256_dpbusd_epi32(s, f1, load256(qb + 32));
        s = _mm256_dpbusd_epi32(s, f2, load256(qb + 64));
        s = _mm256_dpbusd_epi32(s, f3, load256(qb + 96));
        dot[r][i] += hsum_i32(s);
      }
    }
  }
  for (int i = 0; i < RM; ++i) {
    const int64_t mi = m + i;
    for (int r = 0; r < RN; ++r) a.out[mi * a.N + n + r] = i2s_epilogue(dot[r][i], a.sum[mi], a.scale[mi], a.wscale);
  }
}

// ---- TQ2_0 × Q8_K --------------------------------------------------------------------------------------

inline __m512 cvtepi32_512(__m512i v) {
#if defined(BITNET_AVX512_EMULATED)  // SIMDe 0.7 lacks _mm512_cvtepi32_ps
  return _mm512_castsi512_ps(join256(_mm256_castps_si256(_mm256_cvtepi32_ps(_mm512_castsi512_si256(v))),
                                     _mm256_castps_si256(_mm256_cvtepi32_ps(_mm512_extracti64x4_epi64(v, 1)))));
#else
  return _mm512_cvtepi32_ps(v);
#endif
}

inline float hsum_lo(__m512 v) { return hsum_f32(_mm512_castps512_ps256(v)); }
inline float hsum_hi(__m512 v) { return hsum_f32(_mm256_castsi256_ps(_mm512_extracti64x4_epi64(_mm512_castps_si512(v), 1))); }

/** 2-bit field at bit SH of every byte of a 256-bit vector (codes 0..3 as u8). */
template <int SH>
inline __m256i field256(__m256i v, __m256i m3) {
  if constexpr (SH == 0)
    return _mm256_and_si256(v, m3);
  else
    return _mm256_and_si256(_mm256_srli_epi16(v, SH), m3);
}

/**
 * Weight rows n .. n+RN−1 (RN = 1 or even) × activation rows m .. m+RM−1, activations in their Q8_K
 * layout. A TQ2_0 block's 64 code bytes are two 32-byte chunks c; field f of chunk c holds the values
 * 128c + 32f + j (j = 0..31), whose activations are one contiguous 32-byte run. The reference's lane
 * k sums the products at j = 4k..4k+3 over (c, f); a 256-bit vpdpbusd of a field against its run puts
 * exactly those in lane k. Rows 2p and 2p+1 share a zmm: [chunk of row 2p | chunk of row 2p+1] against
 * the run broadcast to both halves, so each half is one row's 8 lanes and needs no folding. The
 * integer sums start at −gsum (the 32-group activation sums), so the block's lanes come out already
 * minus them (integer addition is exact: the same values as the reference's subtraction); then each
 * half goes through the reference epilogue: convert, FMA by da·dw (rounded to f32) into 8 f32 lanes.
 */
template <int RN, int RM>
inline void tq2_tile(const TernaryMatmulArgs& a, int64_t n, int64_t m) {
  static_assert(RN == 1 || RN % 2 == 0, "weight rows are paired");
  constexpr int RP = RN == 1 ? 1 : RN / 2;
  const int64_t nb = a.K / QK_K;
  const uint8_t* w[RN];
  const int8_t* q[RM];
  for (int r = 0; r < RN; ++r) w[r] = a.w + (n + r) * a.row_bytes;
  for (int i = 0; i < RM; ++i) q[i] = a.q + (m + i) * a.K;
  if constexpr (RN == 1) {
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256 acc[RM];
    for (int i = 0; i < RM; ++i) acc[i] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* wb = w[0] + b * TQ2_0_BYTES;
      _mm_prefetch((const char*)(wb + PF), _MM_HINT_T0);
      __m256i s[RM];
      for (int i = 0; i < RM; ++i) s[i] = _mm256_setzero_si256();
      auto chunk = [&](auto cc) {
        constexpr int C = decltype(cc)::value;
        const __m256i wv = load256(wb + 32 * C);
        auto group = [&](auto g) {
          constexpr int F = decltype(g)::value;
          const __m256i f = field256<2 * F>(wv, m3);
          for (int i = 0; i < RM; ++i) s[i] = _mm256_dpbusd_epi32(s[i], f, load256(q[i] + 256 * b + 128 * C + 32 * F));
        };
        group(std::integral_constant<int, 0>{});
        group(std::integral_constant<int, 1>{});
        group(std::integral_constant<int, 2>{});
        group(std::integral_constant<int, 3>{});
      };
      chunk(std::integral_constant<int, 0>{});
      chunk(std::integral_constant<int, 1>{});
      const float dw = _cvtsh_ss(load_u16(wb + 64));
      for (int i = 0; i < RM; ++i) {
        const int64_t blk = (m + i) * nb + b;
        acc[i] = tq_lane_epilogue(acc[i], s[i], a.sum + blk * 8, dw, a.scale[blk]);
      }
    }
    for (int i = 0; i < RM; ++i) a.out[(m + i) * a.N + n] = hsum_f32(acc[i]);
  } else {
    const __m512i m3 = _mm512_set1_epi8(3);
    __m512 acc[RP][RM];
    for (int j = 0; j < RP; ++j)
      for (int i = 0; i < RM; ++i) acc[j][i] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      for (int r = 0; r < RN; ++r) {
        const uint8_t* wb = w[r] + b * TQ2_0_BYTES;
        _mm_prefetch((const char*)(wb + PF), _MM_HINT_T0);
        _mm_prefetch((const char*)(wb + PF + 64), _MM_HINT_T0);
      }
      __m512i s[RP][RM];
      for (int i = 0; i < RM; ++i) {
        const __m256i g = _mm256_loadu_si256((const __m256i*)(a.sum + ((m + i) * nb + b) * 8));
        const __m512i ng2 = _mm512_broadcast_i64x4(_mm256_sub_epi32(_mm256_setzero_si256(), g));
        for (int j = 0; j < RP; ++j) s[j][i] = ng2;
      }
      auto chunk = [&](auto cc) {
        constexpr int C = decltype(cc)::value;
        __m512i wv[RP];
        for (int j = 0; j < RP; ++j)
          wv[j] = join256(load256(w[2 * j] + b * TQ2_0_BYTES + 32 * C), load256(w[2 * j + 1] + b * TQ2_0_BYTES + 32 * C));
        auto group = [&](auto g) {
          constexpr int F = decltype(g)::value;
          __m512i f[RP];
          for (int j = 0; j < RP; ++j) f[j] = field<2 * F>(wv[j], m3);
          for (int i = 0; i < RM; ++i) {
            const __m512i x = _mm512_broadcast_i64x4(load256(q[i] + 256 * b + 128 * C + 32 * F));
            for (int j = 0; j < RP; ++j) s[j][i] = _mm512_dpbusd_epi32(s[j][i], f[j], x);
          }
        };
        group(std::integral_constant<int, 0>{});
        group(std::integral_constant<int, 1>{});
        group(std::integral_constant<int, 2>{});
        group(std::integral_constant<int, 3>{});
      };
      chunk(std::integral_constant<int, 0>{});
      chunk(std::integral_constant<int, 1>{});
      __m512 dw2[RP];  // [dw of row 2j ×8 | dw of row 2j+1 ×8]
      for (int j = 0; j < RP; ++j)
        dw2[j] = _mm512_castsi512_ps(join256(_mm256_castps_si256(_mm256_set1_ps(_cvtsh_ss(load_u16(w[2 * j] + b * TQ2_0_BYTES + 64)))),
                                             _mm256_castps_si256(_mm256_set1_ps(_cvtsh_ss(load_u16(w[2 * j + 1] + b * TQ2_0_BYTES + 64))))));
      for (int i = 0; i < RM; ++i) {
        const __m512 da = _mm512_set1_ps(a.scale[(m + i) * nb + b]);
        // da·dw rounded to f32 per half, as _mm256_set1_ps(da * dw) of the lane epilogue
        for (int j = 0; j < RP; ++j) acc[j][i] = _mm512_fmadd_ps(cvtepi32_512(s[j][i]), _mm512_mul_ps(da, dw2[j]), acc[j][i]);
      }
    }
    for (int i = 0; i < RM; ++i) {
      float* o = a.out + (m + i) * a.N + n;
      for (int j = 0; j < RP; ++j) {
        o[2 * j] = hsum_lo(acc[j][i]);
        o[2 * j + 1] = hsum_hi(acc[j][i]);
      }
    }
  }
}

}  // namespace

void i2s_tiles_512(const TernaryMatmulArgs& a, int64_t n0, int64_t n1, const int8_t* qp) {
  sweep_tiles<I2S_RMAX, I2S_RN>(a, n0, n1, [&](int64_t n, int64_t m, auto rn, auto rm) { i2s_tile<decltype(rn)::value, decltype(rm)::value>(a, n, m, qp); });
}

void tq2_tiles_512(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  auto tile = [&](int64_t n, int64_t m, auto rn, auto rm) { tq2_tile<decltype(rn)::value, decltype(rm)::value>(a, n, m); };
  if (a.M >= TQ2_RMAX_LONG_FROM) return sweep_tiles<TQ2_RMAX_LONG>(a, n0, n1, tile);
  sweep_tiles<TQ2_RMAX>(a, n0, n1, tile);
}

}  // namespace avx512
}  // namespace bitnet
