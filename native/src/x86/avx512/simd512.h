// Header-only 512-bit helpers of the AVX-512 kernel sources (a few intrinsics are missing from
// SIMDe 0.7, so the emulated build composes them from 256-bit halves). Internal linkage.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

#include "../avx2/simd.h"
#include "../intrin.h"

namespace bitnet {
namespace {

// ---- 512-bit helpers (a few are missing from SIMDe 0.7: composed from 256-bit halves there) ----------

inline __m512i load512(const void* p) { return _mm512_loadu_si512(p); }

/**
 * acc + vpdpbusd(u, s): per 32-bit lane the sum of four u8·s8 products. GCC 12 does not keep the
 * intrinsic's accumulator in its register: it copies each one into a fresh register before the
 * instruction and back after it, and with many accumulators spills them to the stack inside the loop
 * (in the decode row kernel alone, ~54 → ~49 cycles a 2560-wide row). The inline form accumulates in
 * place. The emulated (SIMDe) build keeps the intrinsic.
 */
inline __m512i dpbusd512(__m512i acc, __m512i u, __m512i s) {
#if defined(BITNET_AVX512_EMULATED)
  return _mm512_dpbusd_epi32(acc, u, s);
#else
  __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "vm"(s));
  return acc;
#endif
}

/**
 * `v` pinned in a register: GCC otherwise folds the load that made it into every instruction that uses
 * it (a TQ2_0 block, 66 bytes, is read four times, each load split across two cache lines). No-op in
 * the emulated build.
 */
inline __m512i in_register(__m512i v) {
#if !defined(BITNET_AVX512_EMULATED)
  __asm__("" : "+v"(v));
#endif
  return v;
}
inline __m512 in_register(__m512 v) {
#if !defined(BITNET_AVX512_EMULATED)
  __asm__("" : "+v"(v));
#endif
  return v;
}

inline __m256i fold512(__m512i v) {
  return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
}
inline int32_t hsum512_i32(__m512i v) { return hsum_i32(fold512(v)); }

inline float hsum512_ps(__m512 v) {
  const __m512i b = _mm512_castps_si512(v);
  return hsum_f32(_mm256_add_ps(_mm256_castsi256_ps(_mm512_castsi512_si256(b)), _mm256_castsi256_ps(_mm512_extracti64x4_epi64(b, 1))));
}

inline __m512i join256(__m256i lo, __m256i hi) { return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1); }

/**
 * The integer dot of one I2_S 128-block (32 bytes; the fields at bits 6, 4, 2, 0 of byte j are values
 * j, 32 + j, 64 + j, 96 + j) with its 128 int8 activations, on 256 bits: the trailing odd block of a
 * row when K % 256 = 128 (the zmm paths take blocks in pairs).
 */
inline int32_t i2s_block_dot256(const uint8_t* wb, const int8_t* qb) {
  const __m256i m3 = _mm256_set1_epi8(3);
  const __m256i wv = load256(wb);
  __m256i s = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_and_si256(_mm256_srli_epi16(wv, 6), m3), load256(qb));
  s = _mm256_dpbusd_epi32(s, _mm256_and_si256(_mm256_srli_epi16(wv, 4), m3), load256(qb + 32));
  s = _mm256_dpbusd_epi32(s, _mm256_and_si256(_mm256_srli_epi16(wv, 2), m3), load256(qb + 64));
  s = _mm256_dpbusd_epi32(s, _mm256_and_si256(wv, m3), load256(qb + 96));
  return hsum_i32(s);
}

/** Arithmetic right shift of each 32-bit lane by N. */
template <int N>
inline __m512i srai512_epi32(__m512i v) {
#if defined(BITNET_AVX512_EMULATED)
  return join256(_mm256_srai_epi32(_mm512_castsi512_si256(v), N), _mm256_srai_epi32(_mm512_extracti64x4_epi64(v, 1), N));
#else
  return _mm512_srai_epi32(v, N);
#endif
}

inline __m512 cvtepi32_512(__m512i v) {
#if defined(BITNET_AVX512_EMULATED)  // SIMDe 0.7 lacks _mm512_cvtepi32_ps
  return _mm512_castsi512_ps(join256(_mm256_castps_si256(_mm256_cvtepi32_ps(_mm512_castsi512_si256(v))),
                                     _mm256_castps_si256(_mm256_cvtepi32_ps(_mm512_extracti64x4_epi64(v, 1)))));
#else
  return _mm512_cvtepi32_ps(v);
#endif
}

inline __m512 cvtph512(__m256i h) {
#if defined(BITNET_AVX512_EMULATED)
  const __m256 lo = _mm256_cvtph_ps(_mm256_castsi256_si128(h)), hi = _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1));
  return _mm512_castsi512_ps(join256(_mm256_castps_si256(lo), _mm256_castps_si256(hi)));
#else
  return _mm512_cvtph_ps(h);
#endif
}

inline __m512i cvtepu16_512(__m256i h) {
#if defined(BITNET_AVX512_EMULATED)
  return join256(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(h)), _mm256_cvtepu16_epi32(_mm256_extracti128_si256(h, 1)));
#else
  return _mm512_cvtepu16_epi32(h);
#endif
}

/**
 * Scratch for one kernel call on one thread (activations repacked for zmm loads): per thread one kept
 * buffer per slot, grown as needed. A call then writes pages that are already there, instead of a block
 * that glibc maps or trims back to the OS at every free: each call faulted its pages in again (~1 µs a
 * page on these VMs, far more when the host has taken the freed memory back). Slots: the buffers one
 * call uses at the same time.
 */
struct Scratch {
  int8_t* p;
  explicit Scratch(size_t n, int slot = 0) : p(buffer(n, slot)) {}

 private:
  static constexpr int kSlots = 4;
  static int8_t* buffer(size_t n, int slot) {
    struct Kept {
      int8_t* p[kSlots] = {};
      size_t cap[kSlots] = {};
      ~Kept() {
        for (int8_t* q : p) std::free(q);
      }
    };
    thread_local Kept kept;
    const size_t want = (n + 63) / 64 * 64 + 64;
    if (kept.cap[slot] < want) {
      int8_t* q = static_cast<int8_t*>(std::aligned_alloc(64, want));
      if (!q) throw std::bad_alloc();
      std::free(kept.p[slot]);
      kept.p[slot] = q;
      kept.cap[slot] = want;
    }
    return kept.p[slot];
  }
};

/**
 * Prefetch along a matmul's weights, `L2` as TernaryMatmulArgs::stream_l2 (see stream_prefetch() in
 * dispatch.h): prefetcht1 32 KB ahead, or the near hint `Near` 8 KB ahead (prefetchnta for a decode
 * row, prefetcht0 for a register tile of several activation rows). A template argument: a run-time
 * hint inside the loop cost twice the time in the tiles once.
 *
 * Decode rows, Zen 4, 2 threads, 600 MB of 2B4T matrices: I2_S ~23 → ~31 GB/s with L2 against a 34 GB/s
 * probe, TQ2_0 ~20 → ~27 (one thread ~12 → ~25: there the NTA rows overlapped almost none of their memory
 * time with compute). On Zen 5 NTA measured best (of nta / t0): decode reads each weight once a token,
 * and T0 prefetches let 1.2 GB a token wash the caches (Zen's L3 takes every line the L2 evicts), so the
 * rest of the step (KV cache, activations, the engine's own data) came from DRAM, a step ~5 % slower.
 *
 * Tiles, Zen 4, 600 MB of 2B4T I2_S matrices × 8 rows: ~58 → ~51.5 ms with L2; × 64 rows ~388 → ~377 ms
 * (TQ2_0, bound by its arithmetic, −1..2 %). In the engine: batch-8 decode steps ~4 % faster, 256-token
 * prefill the same within the noise (168.3 vs 168.1 tok/s, five alternating runs).
 */
template <bool L2, int Near>
inline void prefetch_weights(const void* p) {
  if constexpr (L2)
    _mm_prefetch((const char*)p + 32768, _MM_HINT_T1);
  else
    _mm_prefetch((const char*)p + PF, static_cast<decltype(_MM_HINT_T0)>(Near));
}
/** hsum_f32 of a paired accumulator's low half (row 2P's 8 lanes) and high half (row 2P+1's). */
inline float hsum_lo(__m512 v) { return hsum_f32(_mm512_castps512_ps256(v)); }
inline float hsum_hi(__m512 v) { return hsum_f32(_mm256_castsi256_ps(_mm512_extracti64x4_epi64(_mm512_castps_si512(v), 1))); }

/**
 * Activation rows paired for zmm by a register tile: pair P holds rows 2P and 2P+1 (an odd M's last
 * pair has a zero row as its second), each kernel's layout described at its packer (pack_tq2_pairs,
 * pack_q8_pairs). Built once per call and thread.
 */
struct ActivationPairs {
  const int8_t* xp;     // the paired activations
  const int32_t* sums;  // 16 int32 per (pair, block): where each lane's integer sum starts
  const float* da;      // 16 f32 per (pair or group of pairs, block): the activation scales
  int64_t pairs;
};

/**
 * Fills an ActivationPairs layout: for every pair P, half h (row m = 2P + h) and block b, row(m, b, x,
 * g, d) writes the half's `runs` runs of 32 activations at x + 64·j, its 8 lane sums at g and 8 scales
 * at d (per (P, b): 64·runs bytes, 16 int32, 16 f32). The zero partner of an odd M gets zeros.
 */
template <class Row>
inline void pack_pairs(int64_t M, int64_t nb, int runs, int8_t* xp, int32_t* sums, float* da, Row&& row) {
  for (int64_t P = 0; P < (M + 1) / 2; ++P)
    for (int h = 0; h < 2; ++h)
      for (int64_t b = 0; b < nb; ++b) {
        const int64_t i = P * nb + b, m = 2 * P + h;
        int8_t* x = xp + i * 64 * runs + 32 * h;
        int32_t* g = sums + i * 16 + 8 * h;
        float* d = da + i * 16 + 8 * h;
        if (m < M) {
          row(m, b, x, g, d);
          continue;
        }
        for (int j = 0; j < runs; ++j) std::memset(x + 64 * j, 0, 32);
        for (int k = 0; k < 8; ++k) g[k] = 0, d[k] = 0.0f;
      }
}

/** The last `rest` (1 .. R) activation rows or pairs of a group, in one tile of exactly that many. */
template <int R, class Group>
inline void rest_group(int64_t rest, Group&& group) {
  if constexpr (R >= 1) {
    if (rest == R) group(std::integral_constant<int, R>{});
    else rest_group<R - 1>(rest, group);
  }
}

/**
 * The register tiles' cache blocking: panels of weight rows (~16 KB, kept in L2) from [n0, n1), each
 * swept once per group of up to GMAX of the `count` activation rows (or row pairs), whose activations
 * stay in L1 meanwhile: tile(n, g, rn, rg) for weight rows n .. n + rn − 1 (rn = RN, or 1 for a panel's
 * last rows) and rows (pairs) g .. g + rg − 1 (rg = GMAX, or the 1 .. GMAX − 1 left at the end); rn and
 * rg are std::integral_constants.
 */
template <int RN, int GMAX, class Tile>
inline void sweep_groups(size_t row_bytes, int64_t count, int64_t n0, int64_t n1, Tile&& tile) {
  const int64_t np = std::max<int64_t>(RN, (int64_t)(16384 / row_bytes) / RN * RN);
  for (int64_t p = n0; p < n1; p += np) {
    const int64_t pe = std::min(n1, p + np);
    int64_t g = 0;
    auto group = [&](auto rg) {
      int64_t n = p;
      for (; n + RN <= pe; n += RN) tile(n, g, std::integral_constant<int, RN>{}, rg);
      for (; n < pe; ++n) tile(n, g, std::integral_constant<int, 1>{}, rg);
    };
    for (; g + GMAX <= count; g += GMAX) group(std::integral_constant<int, GMAX>{});
    rest_group<GMAX - 1>(count - g, group);
  }
}

/**
 * sweep_groups over activation pairs with the prefetch policy as a template argument (a run-time hint
 * inside the loop cost twice the time in the tiles once): tile(l2, n, P, rn, rp), l2 a std::bool_constant.
 */
template <int RN, int RPMAX, class Tile>
inline void sweep_pair_tiles(bool stream_l2, size_t row_bytes, int64_t pairs, int64_t n0, int64_t n1, Tile&& tile) {
  auto run = [&](auto l2) {
    sweep_groups<RN, RPMAX>(row_bytes, pairs, n0, n1, [&](int64_t n, int64_t P, auto rn, auto rp) { tile(l2, n, P, rn, rp); });
  };
  if (stream_l2) run(std::true_type{});
  else run(std::false_type{});
}

template <bool L2>
inline void prefetch_stream(const void* p) { prefetch_weights<L2, _MM_HINT_NTA>(p); }
template <bool L2>
inline void prefetch_tile(const void* p) { prefetch_weights<L2, _MM_HINT_T0>(p); }

}  // namespace
}  // namespace bitnet
