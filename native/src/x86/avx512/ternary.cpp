// AVX-512 ternary matmuls: I2_S × int8 and TQ2_0 × Q8_K with 512-bit vpdpbusd (u8 codes × s8
// activations, exact int32 accumulation). TQ1_0 keeps the AVX2 kernel (its 256-bit unpack is the cost).
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

/** For block b and field n: 64 bytes [values 32n.. of half 0 | values 128 + 32n.. of half 1] at dst + 256b + 64n. */
static inline void repack_tq2_row(const int8_t* q, int64_t K, int8_t* dst) {
  for (int64_t b = 0; b < K / QK_K; ++b)
    for (int f = 0; f < 4; ++f) {
      std::memcpy(dst + 256 * b + 64 * f, q + 256 * b + 32 * f, 32);
      std::memcpy(dst + 256 * b + 64 * f + 32, q + 256 * b + 128 + 32 * f, 32);
    }
}

/**
 * One TQ2_0 block of one weight row against the activations q[f] (field f's 64 repacked bytes): the
 * reference's 8 lanes in each half of the result (lanes k and k + 8 still to be added), starting from s
 * (−gsum in the lanes that take it). The 66-byte block is loaded once (see in_register).
 */
inline __m512i tq2_lanes(const uint8_t* wb, const __m512i* q, __m512i s) {
  const __m512i m3 = _mm512_set1_epi8(3);
  const __m512i wv = in_register(load512(wb));
  __m512i t = dpbusd512(_mm512_setzero_si512(), _mm512_and_si512(_mm512_srli_epi16(wv, 4), m3), q[2]);
  s = dpbusd512(s, _mm512_and_si512(wv, m3), q[0]);
  s = dpbusd512(s, _mm512_and_si512(_mm512_srli_epi16(wv, 2), m3), q[1]);
  t = dpbusd512(t, _mm512_and_si512(_mm512_srli_epi16(wv, 6), m3), q[3]);
  return _mm512_add_epi32(s, t);
}

/**
 * Decode: weight rows n .. n + C − 1 (C 1..4; adjacent in memory, so still one stream) × one
 * activation row, two rows to a zmm: lanes 0..7 are row n's 8 lanes of the reference
 * (ggml_vec_dot_tq2_0_q8_K, AVX2), lanes 8..15 row n + 1's, and likewise rows n + 2, n + 3. Per block
 * each row's integer lanes start at −gsum (the reference's subtraction, exact in integers), two rows'
 * folds are joined into one zmm, then one convert and one FMA by [da·dw(n) ×8 | da·dw(n+1) ×8] —
 * element-wise, so each half is the reference's 8-lane chain, and a row gets the same bits whichever
 * row shares its zmm. The activation vectors are loaded once for the four rows and the four da·dw come
 * from one convert and one multiply. Rows past C repeat the last row and are not written.
 * Zen 4, one thread, 640 × 2560 from L2: four rows a pass 17.8-18.0 → 16.7-16.9 µs against two.
 */
template <bool L2, int C>
static void tq2_rows512(const TernaryMatmulArgs& a, int64_t n, const int8_t* qp, const int32_t* ngsum) {
  const int64_t nb = a.K / QK_K, rb = a.row_bytes;
  const uint8_t* w[4];
  for (int r = 0; r < 4; ++r) w[r] = a.w + (n + std::min(r, C - 1)) * rb;
  const float* const da = a.scale;
  const __m512i pick01 = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i pick23 = _mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2);
  __m512 acc01 = _mm512_setzero_ps(), acc23 = acc01;
  for (int64_t b = 0; b < nb; ++b) {
    const int64_t o = b * TQ2_0_BYTES;
    prefetch_stream<L2>(w[0] + o);  // see prefetch_stream; the rows are one contiguous stretch
    prefetch_stream<L2>(w[1] + o);
    prefetch_stream<L2>(w[2] + o);
    prefetch_stream<L2>(w[3] + o);
    prefetch_stream<L2>(w[3] + o + 64);
    const int8_t* qb = qp + 256 * b;
    const __m512i g = load512(ngsum + 16 * b);  // [−gsum ×8 | 0 ×8]
    const __m512i q[4] = {in_register(load512(qb)), in_register(load512(qb + 64)), in_register(load512(qb + 128)), in_register(load512(qb + 192))};
    const __m512i l0 = tq2_lanes(w[0] + o, q, g), l1 = tq2_lanes(w[1] + o, q, g), l2 = tq2_lanes(w[2] + o, q, g), l3 = tq2_lanes(w[3] + o, q, g);
    // [l0 lo | l1 lo] + [l0 hi | l1 hi]: each row's fold (lanes k and k + 8) in its own half
    const __m512i la = _mm512_add_epi32(_mm512_shuffle_i32x4(l0, l1, 0x44), _mm512_shuffle_i32x4(l0, l1, 0xEE));
    const __m512i lb = _mm512_add_epi32(_mm512_shuffle_i32x4(l2, l3, 0x44), _mm512_shuffle_i32x4(l2, l3, 0xEE));
    __m128i dwh = _mm_cvtsi32_si128(load_u16(w[0] + o + 64));
    dwh = _mm_insert_epi16(dwh, load_u16(w[1] + o + 64), 1);
    dwh = _mm_insert_epi16(dwh, load_u16(w[2] + o + 64), 2);
    dwh = _mm_insert_epi16(dwh, load_u16(w[3] + o + 64), 3);
    const __m512 d4 = _mm512_castps128_ps512(_mm_mul_ps(_mm_set1_ps(da[b]), _mm_cvtph_ps(dwh)));  // da·dw(row r), r = 0..3
    acc01 = _mm512_fmadd_ps(cvtepi32_512(la), _mm512_permutexvar_ps(pick01, d4), acc01);
    acc23 = _mm512_fmadd_ps(cvtepi32_512(lb), _mm512_permutexvar_ps(pick23, d4), acc23);
  }
  const float res[4] = {hsum_f32(_mm512_castps512_ps256(acc01)), hsum_f32(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc01), 1))),
                        hsum_f32(_mm512_castps512_ps256(acc23)), hsum_f32(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc23), 1)))};
  for (int r = 0; r < C; ++r) a.out[n + r] = res[r];
}

/** Rows [n0, n1) four at a time, the last 1..3 in one pass of exactly that many. */
template <bool L2>
static void tq2_decode512(const TernaryMatmulArgs& a, int64_t n0, int64_t n1, const int8_t* qp, const int32_t* ngsum) {
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) tq2_rows512<L2, 4>(a, n, qp, ngsum);
  switch (n1 - n) {
    case 3: tq2_rows512<L2, 3>(a, n, qp, ngsum); break;
    case 2: tq2_rows512<L2, 2>(a, n, qp, ngsum); break;
    case 1: tq2_rows512<L2, 1>(a, n, qp, ngsum); break;
    default: break;
  }
}

void matmul_tq2_0_q8k_512(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  if (a.M == 1) {
    const int64_t nb = a.K / QK_K;
    Scratch s((size_t)a.K), g((size_t)(64 * nb), 1);
    repack_tq2_row(a.q, a.K, s.p);
    int32_t* ng = reinterpret_cast<int32_t*>(g.p);
    for (int64_t b = 0; b < nb; ++b)
      for (int k = 0; k < 8; ++k) ng[16 * b + k] = -a.sum[8 * b + k], ng[16 * b + 8 + k] = 0;
    a.stream_l2 ? tq2_decode512<true>(a, n0, n1, s.p, ng) : tq2_decode512<false>(a, n0, n1, s.p, ng);
    return;
  }
  tq2_tiles_512(a, n0, n1);  // ternary_tiles.cpp: activations in their own layout
}

}  // namespace avx512
}  // namespace bitnet
