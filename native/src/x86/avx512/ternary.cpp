// AVX-512 ternary matmuls: I2_S × int8 and TQ2_0 × Q8_K with 512-bit vpdpbusd (u8 codes × s8
// activations, exact int32 accumulation). TQ1_0 keeps the AVX2 kernel (its 256-bit unpack is the cost).
//
// TQ2_0's one-row kernel is in tq2_decode.h (shared with the avx512vbmi table).
//
// I2_S: each 2-bit field is masked in place (w & 0xC0, 0x30, 0x0C, 0x03 — no shifts) into its own
// accumulator, and the four are scaled by 1/64, 1/16, 1/4, 1 at the end (exact: every term is a
// multiple of its scale; K ≤ 2^18 keeps |Σ| < 2^31). Activations are repacked once per call so that
// one 64-byte load feeds one vpdpbusd against two 32-byte weight blocks. Here: one activation row
// (decode); several rows go to the register tiles of ternary_tiles.cpp on the same repacked layout.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "../../core/ggml_math.h"
#include "../../core/kernel_table.h"
#include "../../core/scalar.h"
#include "../avx2/kernels.h"
#include "../avx2/simd.h"
#include "kernels.h"
#include "simd512.h"
#include "tq2_decode.h"

namespace bitnet {
namespace avx512 {


// ---- I2_S × int8 -------------------------------------------------------------------------------------

/**
 * Repacks one activation row for zmm: for the block pair (2p, 2p+1) and group g (values 32g..32g+31
 * of a block), 64 bytes = [block 2p group g | block 2p+1 group g] at dst + 256p + 64g. A trailing odd
 * block is left to the 256-bit path (which reads the original row).
 */
static inline void repack_i2s_row(const int8_t* q, int64_t K, int8_t* dst) {
  for (int64_t p = 0; p < K / 256; ++p)
    for (int g = 0; g < 4; ++g) {
      std::memcpy(dst + 256 * p + 64 * g, q + 256 * p + 32 * g, 32);
      std::memcpy(dst + 256 * p + 64 * g + 32, q + 256 * p + 128 + 32 * g, 32);
    }
}

/**
 * One segment (NS block pairs, from pair p0) of `rows` adjacent weight rows: the segment's 4·NS
 * activation vectors are loaded once into registers and serve every row of the block, so a row's
 * 64-byte weight vector costs one load, four ands and four vpdpbusd (five loads before: one 512-bit
 * load issues a cycle on Zen 4, two and/vpdpbusd ops). Each row's four field sums carry over from
 * segment to segment in part[r] (integer, exact). pf: the next line to prefetch, a line per pair.
 */
template <bool L2, int NS>
inline void i2s_segment512(const uint8_t* w, int64_t rb, int64_t rows, const int8_t* q, __m512i (*part)[4], bool first, const uint8_t*& pf) {
  const __m512i mk0 = _mm512_set1_epi8((char)0xC0), mk1 = _mm512_set1_epi8(0x30), mk2 = _mm512_set1_epi8(0x0C), mk3 = _mm512_set1_epi8(0x03);
  __m512i x[4 * NS];
#pragma GCC unroll 32
  for (int i = 0; i < 4 * NS; ++i) x[i] = in_register(load512(q + 64 * i));
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* wr = w + r * rb;
    __m512i a0, a1, a2, a3;
    if (first) a0 = a1 = a2 = a3 = _mm512_setzero_si512();
    else a0 = part[r][0], a1 = part[r][1], a2 = part[r][2], a3 = part[r][3];
#pragma GCC unroll 8
    for (int p = 0; p < NS; ++p) {
      prefetch_stream<L2>(pf);
      pf += 64;
      const __m512i wv = load512(wr + 64 * p);
      a0 = dpbusd512(a0, _mm512_and_si512(wv, mk0), x[4 * p]);
      a1 = dpbusd512(a1, _mm512_and_si512(wv, mk1), x[4 * p + 1]);
      a2 = dpbusd512(a2, _mm512_and_si512(wv, mk2), x[4 * p + 2]);
      a3 = dpbusd512(a3, _mm512_and_si512(wv, mk3), x[4 * p + 3]);
    }
    part[r][0] = a0, part[r][1] = a1, part[r][2] = a2, part[r][3] = a3;
  }
}

/**
 * Decode: weight rows [n0, n1) × one activation row, in blocks of adjacent rows (~8 KB), each block
 * swept segment by segment (S pairs), so the activations of a segment sit in registers for the whole
 * block. The weight bytes are still read once, block after block; the prefetch cursor runs the
 * policy's distance ahead of the bytes consumed (a block is at most the NTA distance unless one row
 * is longer, so every line is asked for at least a block before it is read). Zen 4, one thread, 640 × 2560 from L2: ~13.4 → ~11.0
 * µs against the row-at-a-time kernel with five loads a weight vector (2 threads ~7.8 → ~6.8 µs).
 */
template <bool L2, int S>
static void i2s_rows_seg512(const TernaryMatmulArgs& a, int64_t n0, int64_t n1, const int8_t* qp) {
  static_assert(S >= 1 && S <= 5, "the segment switch below has cases 1..5");
  constexpr int64_t RMAX = 16;
  const int64_t pairs = a.K / 256, rb = a.row_bytes;
  const int64_t R = std::min<int64_t>(RMAX, std::max<int64_t>(1, 8192 / rb));
  const bool tail = a.K % 256 != 0;
  const int32_t sum = a.sum[0];
  const float scale = a.scale[0], wscale = a.wscale;
  float* const out = a.out;
  __m512i part[RMAX][4];
  for (int64_t nb = n0; nb < n1; nb += R) {
    const int64_t rows = std::min(R, n1 - nb);
    const uint8_t* blk = a.w + nb * rb;
    const uint8_t* pf = blk;
    for (int64_t p0 = 0; p0 < pairs; p0 += S) {
      const uint8_t* w = blk + 64 * p0;
      const int8_t* q = qp + 256 * p0;
      const bool first = p0 == 0;
      switch (std::min<int64_t>(S, pairs - p0)) {
        case 5: i2s_segment512<L2, 5>(w, rb, rows, q, part, first, pf); break;
        case 4: i2s_segment512<L2, 4>(w, rb, rows, q, part, first, pf); break;
        case 3: i2s_segment512<L2, 3>(w, rb, rows, q, part, first, pf); break;
        case 2: i2s_segment512<L2, 2>(w, rb, rows, q, part, first, pf); break;
        default: i2s_segment512<L2, 1>(w, rb, rows, q, part, first, pf); break;
      }
    }
    // Lane j of the field-f sum is 4^(3−f)·Σ code_f·q, so part0 + 4·part1 + 16·part2 + 64·part3 is
    // 64·Σ code·q in every lane (|lane| < 2^29 for K ≤ 2^18) and the arithmetic shift by 6 is exact.
    for (int64_t r = 0; r < rows; ++r) {
      int32_t dot = 0;
      if (pairs > 0) {
        const __m512i c = _mm512_add_epi32(_mm512_add_epi32(part[r][0], _mm512_slli_epi32(part[r][1], 2)),
                                           _mm512_add_epi32(_mm512_slli_epi32(part[r][2], 4), _mm512_slli_epi32(part[r][3], 6)));
        dot = hsum512_i32(srai512_epi32<6>(c));
      }
      if (tail) dot += i2s_block_dot256(blk + r * rb + 32 * (a.K / QK_I2S - 1), a.q + a.K - QK_I2S);
      out[nb + r] = i2s_epilogue(dot, sum, scale, wscale);
    }
  }
}

void matmul_i2s_i8_512(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  Scratch s((size_t)(a.M * a.K));
  for (int64_t m = 0; m < a.M; ++m) repack_i2s_row(a.q + m * a.K, a.K, s.p + m * a.K);
  if (a.M > 1) return i2s_tiles_512(a, n0, n1, s.p);  // ternary_tiles.cpp
  if (a.stream_l2)
    i2s_rows_seg512<true, 5>(a, n0, n1, s.p);
  else
    i2s_rows_seg512<false, 5>(a, n0, n1, s.p);
}

// ---- TQ2_0 × Q8_K --------------------------------------------------------------------------------------

void matmul_tq2_0_q8k_512(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  if (a.M == 1) return tq2_decode512(a, n0, n1, ShiftFields{});  // tq2_decode.h
  tq2_tiles_512(a, n0, n1);  // ternary_tiles.cpp: activations in their own layout
}

}  // namespace avx512
}  // namespace bitnet
