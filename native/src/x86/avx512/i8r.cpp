// The screened output on AVX-512 VNNI: matmulI8rI8 (I8r codes × per-token int8 activations) and the
// load-time row kernels (core/i8r_rows.h compiled with these flags: the compiler's 512-bit lanes, the
// reference's bits).
//
// The matmul walks blocks of 16 weight rows. Within a block, register tiles of R weight rows × MB
// activation rows (MB ≤ 4) run down K 64 bytes at a time: R weight loads and MB activation loads feed
// R·MB vpdpbusd (codes as the unsigned operand, activations as the signed one: Σ c·q, exact in int32
// for K ≤ 32768). The activations are first copied to 64-byte aligned rows (the caller's come from JS
// memory at any offset, and a zmm load across two cache lines cost a third of the tile's rate), each
// activation vector is held in a register for its R uses (folded into R memory operands it was loaded
// R times), and 5 to 8 activation rows run as two passes of at most 4 over a tile's weight rows, the
// second from L1. Zen 4, one thread, 256 × 2560 codes from L2, 8 activation rows: 2 × 8 tiles from the
// caller's memory 102–160 G multiply-adds/s, 4 × 4 tiles from aligned rows in registers 214–222 (a
// standalone copy of the tile loop). Both passes prefetch the code stream, the second one tile further
// ahead: when only the first did, the stream stalled while the second computed, and 8 rows of the
// 2B4T copy (128256 × 2560) took 15–17 ms against 11–13 for 4; now 12–13 (Zen 4, two threads). The raw accumulators of the block (16 rows × MB) go to a small buffer; then each
// activation row's 16 accumulators are summed at once by a transposition (reduce16: 4 levels of
// unpack / shuffle + add instead of 16 horizontal sums), and the epilogue runs on 16 outputs in
// xmm: S − 128·sum in double (exact), one rounding to f32, ÷ the token scale, × the row scales.
// Integer sums are exact, so the output is the reference's bit for bit wherever the tiles fall.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../../core/i8r_rows.h"
#include "../../core/kernel_table.h"
#include "../../ref/ref.h"
#include "kernels.h"
#include "simd512.h"

namespace bitnet {
namespace avx512 {

namespace {

/** Lane i of the result = the sum of the 16 int32 lanes of v[i]. */
inline __m512i reduce16(const __m512i* v) {
  __m512i t[8], u[4];
  for (int i = 0; i < 8; ++i)
    t[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_epi32(v[2 * i], v[2 * i + 1]));
  for (int j = 0; j < 4; ++j)
    u[j] = _mm512_add_epi32(_mm512_unpacklo_epi64(t[2 * j], t[2 * j + 1]), _mm512_unpackhi_epi64(t[2 * j], t[2 * j + 1]));
  const __m512i w0 = _mm512_add_epi32(_mm512_shuffle_i32x4(u[0], u[1], 0x88), _mm512_shuffle_i32x4(u[0], u[1], 0xDD));
  const __m512i w1 = _mm512_add_epi32(_mm512_shuffle_i32x4(u[2], u[3], 0x88), _mm512_shuffle_i32x4(u[2], u[3], 0xDD));
  return _mm512_add_epi32(_mm512_shuffle_i32x4(w0, w1, 0x88), _mm512_shuffle_i32x4(w0, w1, 0xDD));
}

/**
 * Rows w[0 .. R) (K codes each) × activation rows q[0 .. MB): the raw accumulators into raw[m·16 + r].
 * pf: the distance (bytes) at which the weight stream is prefetched (the next tile's rows), 0 for none.
 */
template <int R, int MB>
inline void tile(const uint8_t* w, int64_t K, const int8_t* q, int64_t qs, __m512i* raw, int64_t pf, bool l2) {
  __m512i acc[R][MB];
  for (int r = 0; r < R; ++r)
    for (int m = 0; m < MB; ++m) acc[r][m] = _mm512_setzero_si512();
  int64_t k = 0;
  for (; k + 64 <= K; k += 64) {
    __m512i wv[R];
    for (int r = 0; r < R; ++r) {
      wv[r] = _mm512_loadu_si512((const void*)(w + r * K + k));
      if (pf) {
        if (l2) _mm_prefetch((const char*)(w + r * K + k + pf), _MM_HINT_T1);
        else _mm_prefetch((const char*)(w + r * K + k + pf), _MM_HINT_T0);
      }
    }
    for (int m = 0; m < MB; ++m) {
      const __m512i av = in_register(_mm512_load_si512((const void*)(q + m * qs + k)));
      for (int r = 0; r < R; ++r) acc[r][m] = dpbusd512(acc[r][m], wv[r], av);
    }
  }
  if (k < K) {  // the last 32 (K % 64 == 32): zero codes above them add nothing
    auto low32 = [](const void* p) { return _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_loadu_si256((const __m256i*)p), 0); };
    __m512i wv[R];
    for (int r = 0; r < R; ++r) wv[r] = low32(w + r * K + k);
    for (int m = 0; m < MB; ++m) {
      const __m512i av = low32(q + m * qs + k);
      for (int r = 0; r < R; ++r) acc[r][m] = dpbusd512(acc[r][m], wv[r], av);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int m = 0; m < MB; ++m) raw[m * 16 + r] = acc[r][m];
}

/** Weight rows per register tile for MB ≤ 4 activation rows (R·MB accumulators + R weights + MB activations ≤ 32 registers). */
constexpr int rows_for(int MB) { return MB <= 2 ? 8 : 4; }

/**
 * The nb ≤ 16 rows of a block × MB activation rows (aligned, `qs` bytes apart), in tiles of rows_for, the
 * rest one row at a time; more than 4 activation rows as a pass of 4 and a pass of MB − 4 per tile.
 */
template <int MB>
void block(const uint8_t* w, int64_t K, const int8_t* q, int64_t qs, __m512i* raw, int nb, int64_t pf_rows, bool l2) {
  constexpr int MA = MB > 4 ? 4 : MB, MR = MB - MA;
  constexpr int R = rows_for(MA);
  auto rows = [&](auto rc, int r) {
    constexpr int RC = decltype(rc)::value;
    tile<RC, MA>(w + r * K, K, q, qs, raw + r, pf_rows ? RC * K : 0, l2);
    if constexpr (MR > 0) tile<RC, MR>(w + r * K, K, q + MA * qs, qs, raw + MA * 16 + r, pf_rows ? 2 * RC * K : 0, l2);
  };
  int r = 0;
  for (; r + R <= nb; r += R) rows(std::integral_constant<int, R>{}, r);
  for (; r < nb; ++r) rows(std::integral_constant<int, 1>{}, r);
}

using BlockFn = void (*)(const uint8_t*, int64_t, const int8_t*, int64_t, __m512i*, int, int64_t, bool);
constexpr BlockFn kBlocks[9] = {nullptr, block<1>, block<2>, block<3>, block<4>, block<5>, block<6>, block<7>, block<8>};

}  // namespace

void matmul_i8r_i8_512(const I8rMatmulArgs& a, int64_t n0, int64_t n1) {
  const int64_t K = a.K, N = a.N, M = a.M;
  alignas(64) __m512i raw[8 * 16];
  for (int i = 0; i < 8 * 16; ++i) raw[i] = _mm512_setzero_si512();
  // the activation rows, 64-byte aligned (per call and thread; a row's bytes past K are never read)
  const int64_t qs = (K + 63) / 64 * 64;
  Scratch aq((size_t)(M * qs));
  for (int64_t m = 0; m < M; ++m) std::memcpy(aq.p + m * qs, a.q + m * K, (size_t)K);
  for (int64_t n = n0; n < n1; n += 16) {
    const int nb = (int)std::min<int64_t>(16, n1 - n);
    alignas(64) float ws[16] = {};
    std::memcpy(ws, a.wscale + n, (size_t)nb * sizeof(float));
    for (int64_t m0 = 0; m0 < M; m0 += 8) {
      const int mb = (int)std::min<int64_t>(8, M - m0);
      kBlocks[mb](a.codes + n * K, K, aq.p + m0 * qs, qs, raw, nb, 1, a.stream_l2);
      for (int m = 0; m < mb; ++m) {
        // 256-bit epilogue (4 lanes of doubles at a time): the emulated build has no 512-bit conversions.
        alignas(64) int32_t S[16];
        alignas(64) float res[16];
        _mm512_store_si512((void*)S, reduce16(raw + m * 16));
        const __m256d bias = _mm256_set1_pd(-128.0 * (double)a.sum[m0 + m]);
        const __m128 sa = _mm_set1_ps(a.scale[m0 + m]);
        for (int h = 0; h < 16; h += 4) {
          const __m128 dot = _mm256_cvtpd_ps(_mm256_add_pd(_mm256_cvtepi32_pd(_mm_load_si128((const __m128i*)(S + h))), bias));  // exact, then one rounding
          _mm_store_ps(res + h, _mm_mul_ps(_mm_div_ps(dot, sa), _mm_load_ps(ws + h)));
        }
        std::memcpy(a.out + (m0 + m) * N + n, res, (size_t)nb * sizeof(float));
      }
    }
  }
}

/**
 * core/i8r_rows.h's encode_row in zmm (GCC does not vectorize its select-heavy loop): the same amax (max
 * is exact and order-free), d and id, and per value the same steps, f32 product, clamp keeping NaN
 * (vminps / vmaxps return their second operand on NaN), truncation, exact fraction, half away from zero.
 * The emulated build (SIMDe lacks the conversions) runs the header's loop instead.
 */
void encode_i8r_row_512(const float* x, int64_t K, uint8_t* codes, float* scale) {
#if defined(BITNET_AVX512_EMULATED)
  i8r::encode_row(x, K, codes, scale);
#else
  const __m512 abs_mask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  __m512 m = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; k += 16) m = _mm512_max_ps(m, _mm512_and_ps(_mm512_loadu_ps(x + k), abs_mask));
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, m);
  float amax = 0.0f;
  for (int l = 0; l < 16; ++l) amax = lanes[l] > amax ? lanes[l] : amax;
  const float d = (float)((double)amax / 127.0);
  const float id = d != 0.0f ? (float)(1.0 / (double)d) : 0.0f;
  const __m512 vid = _mm512_set1_ps(id), hi = _mm512_set1_ps(127.0f), lo = _mm512_set1_ps(-127.0f);
  const __m512 half = _mm512_set1_ps(0.5f), neg_half = _mm512_set1_ps(-0.5f);
  const __m512i one = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(128);
  for (int64_t k = 0; k < K; k += 16) {
    __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + k), vid);
    v = _mm512_max_ps(lo, _mm512_min_ps(hi, v));  // NaN stays NaN
    const __mmask16 ok = _mm512_cmp_ps_mask(v, v, _CMP_ORD_Q);
    v = _mm512_maskz_mov_ps(ok, v);
    const __m512i t = _mm512_cvttps_epi32(v);
    const __m512 f = _mm512_sub_ps(v, _mm512_cvtepi32_ps(t));  // exact
    __m512i q = _mm512_mask_add_epi32(t, _mm512_cmp_ps_mask(f, half, _CMP_GE_OQ), t, one);
    q = _mm512_mask_sub_epi32(q, _mm512_cmp_ps_mask(f, neg_half, _CMP_LE_OQ), q, one);
    const __m512i c = _mm512_maskz_mov_epi32(ok, _mm512_add_epi32(q, bias));  // NaN: 0
    _mm_storeu_si128((__m128i*)(codes + k), _mm512_cvtepi32_epi8(c));
  }
  *scale = d;
#endif
}

/** core/i8r_rows.h's bounds_row with its 8 lanes of doubles as one zmm each (products and sums rounded one by one, never fused). */
void screen_bounds_i8r_row_512(const float* w, const uint8_t* codes, float scale, int64_t K, float* out) {
#if defined(BITNET_AVX512_EMULATED)
  i8r::bounds_row(w, codes, scale, K, out);
#else
  const __m512d s = _mm512_set1_pd((double)scale);
  const __m256i bias = _mm256_set1_epi32(128);
  __m512d se = _mm512_setzero_pd(), sv = _mm512_setzero_pd();
  for (int64_t k = 0; k < K; k += 8) {
    const __m256i c = _mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)(codes + k))), bias);
    const __m512d wh = _mm512_mul_pd(_mm512_cvtepi32_pd(c), s);  // exact
    const __m512d e = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(w + k)), wh);
    se = _mm512_add_pd(se, _mm512_mul_pd(e, e));
    sv = _mm512_add_pd(sv, _mm512_mul_pd(wh, wh));
  }
  alignas(64) double le[8], lv[8];
  _mm512_store_pd(le, se);
  _mm512_store_pd(lv, sv);
  out[0] = i8r::norm_up(i8r::combine8(le), K);
  out[1] = i8r::norm_up(i8r::combine8(lv), K);
#endif
}


namespace {

/** 8 floats to 8 doubles (exact); SIMDe 0.7 (the emulated build) lacks the 512-bit conversion. */
inline __m512d widen8(__m256 x) {
#if defined(BITNET_AVX512_EMULATED)
  return _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_cvtps_pd(_mm256_castps256_ps128(x))), _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)), 1);
#else
  return _mm512_cvtps_pd(x);
#endif
}

/** The screen's b_n and a_n of 8 tokens from a + n and bounds + 2n: b = bounds[2n]·c0 + bounds[2n+1]·c1, each step rounded. */
struct ScreenLanes {
  __m512d a, b;
};
inline ScreenLanes screen_lanes(const float* a, const float* bounds, __m512d c0, __m512d c1) {
  const __m512i evens_odds = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  const __m512 p = _mm512_permutexvar_ps(evens_odds, _mm512_loadu_ps(bounds));
  const __m512d b0 = widen8(_mm512_castps512_ps256(p));
  const __m512d b1 = widen8(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(p), 1)));
  return {widen8(_mm256_loadu_ps(a)), _mm512_add_pd(_mm512_mul_pd(b0, c0), _mm512_mul_pd(b1, c1))};
}

/** The lanes of v under hit, packed to p[0 ..) (8 lanes written: p has room). A compress into a register
 *  and a plain store: Zen 4's vpcompressd to memory is microcoded (hundreds of cycles). */
inline void store_hits(int32_t* p, __mmask8 hit, __m256i v) { _mm256_storeu_si256((__m256i*)p, _mm256_maskz_compress_epi32(hit, v)); }

constexpr int64_t kScreenChunk = 2048;  // tokens per chunk: its a and bounds (24 KB) stay in L1 between the two passes

}  // namespace

/**
 * screenCandidates in one sweep over a and bounds, a chunk of 2048 tokens at a time: the chunk's lo
 * into 8 lanes of running floors (max is exact and order-free; a NaN lo: −1 at once, ids untouched as
 * in the reference), then, with the chunk still in L1, the ids of the chunk whose up reaches the
 * reach of the floor so far (the chunk's up values kept from the first pass, 16 KB), compressed
 * into a scratch list. The floor so far is at most the
 * final floor, so its reach is at most the final reach (checked: otherwise a full second pass) and
 * the list holds every id of the answer; a last pass over the list keeps those whose up (recomputed
 * with the same operations) reaches the final reach, in order, with the reference's −2 (ids filled to
 * its length first). Each lane's lo, up and the comparisons are the reference's operations: b as
 * mul, mul, add, then a − b, a + b, each rounded (explicit intrinsics, no contraction).
 */
int64_t screen_candidates_512(const float* a, const float* bounds, int64_t V, double c0d, double c1d, int32_t* ids, int64_t capacity) {
  const __m512d c0 = _mm512_set1_pd(c0d), c1 = _mm512_set1_pd(c1d);
  const __m256i lane_ids = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  thread_local std::vector<int32_t> list;
  if ((int64_t)list.size() < V + 8) list.resize((size_t)(V + 8));
  int32_t* cand = list.data();
  int64_t listed = 0;
  __m512d fl = _mm512_set1_pd(-INFINITY);
  double floor = -INFINITY, used = -INFINITY;  // the floor so far; the largest reach the list was built with
  alignas(64) float ta[8], tb[16];             // the last partial group of 8, zero-padded
  alignas(64) double up[kScreenChunk];         // the chunk's up values, for its second pass
  const int64_t full = V / 8 * 8;
  for (int64_t c = 0; c < V; c += kScreenChunk) {
    const int64_t e = std::min(V, c + kScreenChunk), ef = std::min(e, full);
    __mmask8 nan = 0;
    for (int64_t n = c; n < ef; n += 8) {
      const ScreenLanes s = screen_lanes(a + n, bounds + 2 * n, c0, c1);
      const __m512d lo = _mm512_sub_pd(s.a, s.b);
      _mm512_store_pd(up + (n - c), _mm512_add_pd(s.a, s.b));
      nan |= _mm512_cmp_pd_mask(lo, lo, _CMP_UNORD_Q);
      fl = _mm512_max_pd(lo, fl);  // a NaN lo leaves fl (and is caught above)
    }
    const int tail = (int)(e - ef);  // 0 .. 7, only in the last chunk
    const __mmask8 tmask = (__mmask8)((1u << tail) - 1);
    if (tail) {
      std::memset(ta, 0, sizeof ta);
      std::memset(tb, 0, sizeof tb);
      std::memcpy(ta, a + ef, (size_t)tail * sizeof(float));
      std::memcpy(tb, bounds + 2 * ef, (size_t)tail * 2 * sizeof(float));
      const ScreenLanes s = screen_lanes(ta, tb, c0, c1);
      const __m512d lo = _mm512_sub_pd(s.a, s.b);
      nan |= _mm512_cmp_pd_mask(lo, lo, _CMP_UNORD_Q) & tmask;
      fl = _mm512_mask_max_pd(fl, tmask, lo, fl);
    }
    if (nan) return -1;
    alignas(64) double lanes[8];
    _mm512_store_pd(lanes, fl);
    for (int l = 0; l < 8; ++l) floor = lanes[l] > floor ? lanes[l] : floor;
    const double r = i8r::screen_reach(floor);  // NaN when floor = +∞ (nothing listed; the answer is −1)
    used = r > used ? r : used;
    const __m512d vr = _mm512_set1_pd(r);
    for (int64_t n = c; n < ef; n += 8) {
      const __mmask8 hit = _mm512_cmp_pd_mask(_mm512_load_pd(up + (n - c)), vr, _CMP_GE_OQ);
      if (hit) {
        store_hits(cand + listed, hit, _mm256_add_epi32(lane_ids, _mm256_set1_epi32((int32_t)n)));
        listed += __builtin_popcount((unsigned)hit);
      }
    }
    if (tail) {
      const ScreenLanes s = screen_lanes(ta, tb, c0, c1);
      const __mmask8 hit = _mm512_cmp_pd_mask(_mm512_add_pd(s.a, s.b), vr, _CMP_GE_OQ) & tmask;
      store_hits(cand + listed, hit, _mm256_add_epi32(lane_ids, _mm256_set1_epi32((int32_t)ef)));
      listed += __builtin_popcount((unsigned)hit);
    }
  }
  if (!std::isfinite(floor)) return -1;
  const double reach = i8r::screen_reach(floor);
  if (!(used <= reach)) return ref::screen_candidates_ref(a, bounds, V, c0d, c1d, ids, capacity);  // never seen: reach not monotone
  int64_t count = 0;
  for (int64_t i = 0; i < listed; ++i)
    if (!i8r::keep_if_reaching(a, bounds, cand[i], c0d, c1d, reach, ids, capacity, count)) return -2;
  return count;
}

}  // namespace avx512
}  // namespace bitnet
