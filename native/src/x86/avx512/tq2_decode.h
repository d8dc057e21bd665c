// TQ2_0 × Q8_K decode (one activation row) on 512-bit vpdpbusd, written once for the two AVX-512
// tables: how a code byte's fields 1 and 2 are taken out is a policy (Fields), since the better way
// needs VBMI's vpermb, which the "avx512" table may not use (Cooper Lake has AVX-512 BF16 but not
// VBMI). The avx512 table instantiates it with ShiftFields (ternary.cpp), the avx512vbmi table with
// its table-lookup fields (../avx512vbmi/ternary_tq2.cpp); each source is compiled with its own flags,
// and this header keeps internal linkage, so neither object can hold the other's instructions.
//
// Zen 4, one thread, 640 × 2560 from L2, per four weight rows and 256-block: shift fields 36.3 cycles,
// vpermb fields 32.0 (the four field extractions are 5 operations instead of 7 a row; a standalone
// loop of the kernel's body, the variants alternating).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "../../core/ggml_math.h"
#include "../../core/kernel_table.h"
#include "../../core/scalar.h"
#include "simd512.h"

namespace bitnet {
namespace avx512 {
namespace {

/** Fields 1 and 2 of every code byte as u8 codes 0..3, by a 16-bit shift and a mask (AVX-512 BW). */
struct ShiftFields {
  __m512i m3 = _mm512_set1_epi8(3);
  __m512i f1(__m512i w) const { return _mm512_and_si512(_mm512_srli_epi16(w, 2), m3); }
  __m512i f2(__m512i w) const { return _mm512_and_si512(_mm512_srli_epi16(w, 4), m3); }
};

/** For block b and field n: 64 bytes [values 32n.. of half 0 | values 128 + 32n.. of half 1] at dst + 256b + 64n. */
inline void repack_tq2_row(const int8_t* q, int64_t K, int8_t* dst) {
  for (int64_t b = 0; b < K / QK_K; ++b)
    for (int f = 0; f < 4; ++f) {
      std::memcpy(dst + 256 * b + 64 * f, q + 256 * b + 32 * f, 32);
      std::memcpy(dst + 256 * b + 64 * f + 32, q + 256 * b + 128 + 32 * f, 32);
    }
}

/**
 * One TQ2_0 block of one weight row against the activations q[f] (field f's 64 repacked bytes): the
 * reference's 8 lanes in each half of the result (lanes k and k + 8 still to be added), starting from s
 * (−gsum in the lanes that take it). One chain of four vpdpbusd: two chains and an add measured no
 * faster. The 66-byte block is loaded once (see in_register).
 */
template <class Fields>
inline __m512i tq2_lanes(const uint8_t* wb, const __m512i* q, __m512i s, const Fields& fields) {
  const __m512i m3 = _mm512_set1_epi8(3);
  const __m512i wv = in_register(load512(wb));
  s = dpbusd512(s, _mm512_and_si512(wv, m3), q[0]);
  s = dpbusd512(s, fields.f1(wv), q[1]);
  s = dpbusd512(s, fields.f2(wv), q[2]);
  return dpbusd512(s, _mm512_and_si512(_mm512_srli_epi16(wv, 6), m3), q[3]);
}

/**
 * Decode: weight rows n .. n + C − 1 (C 1..4; adjacent in memory, so still one stream) × one
 * activation row, two rows to a zmm: lanes 0..7 are row n's 8 lanes of the reference
 * (ggml_vec_dot_tq2_0_q8_K, AVX2), lanes 8..15 row n + 1's, and likewise rows n + 2, n + 3. Per block
 * each row's integer lanes start at −gsum (the reference's subtraction, exact in integers), two rows'
 * folds are joined into one zmm, then one convert and one FMA by [da·dw(n) ×8 | da·dw(n+1) ×8] —
 * element-wise, so each half is the reference's 8-lane chain, and a row gets the same bits whichever
 * row shares its zmm. The activation vectors are loaded once for the four rows; the four f16 dw are
 * gathered in a general register (one vmovq instead of three vpinsrw) for one convert and one multiply.
 * Rows past C repeat the last row and are not written.
 * Zen 4, one thread, 640 × 2560 from L2: four rows a pass 17.8-18.0 → 16.7-16.9 µs against two.
 */
template <bool L2, int C, class Fields>
inline void tq2_rows512(const TernaryMatmulArgs& a, int64_t n, const int8_t* qp, const int32_t* ngsum, const Fields& fields) {
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
    const __m512i l0 = tq2_lanes(w[0] + o, q, g, fields), l1 = tq2_lanes(w[1] + o, q, g, fields);
    const __m512i l2 = tq2_lanes(w[2] + o, q, g, fields), l3 = tq2_lanes(w[3] + o, q, g, fields);
    // [l0 lo | l1 lo] + [l0 hi | l1 hi]: each row's fold (lanes k and k + 8) in its own half
    const __m512i la = _mm512_add_epi32(_mm512_shuffle_i32x4(l0, l1, 0x44), _mm512_shuffle_i32x4(l0, l1, 0xEE));
    const __m512i lb = _mm512_add_epi32(_mm512_shuffle_i32x4(l2, l3, 0x44), _mm512_shuffle_i32x4(l2, l3, 0xEE));
    const uint64_t dw4 = (uint64_t)load_u16(w[0] + o + 64) | (uint64_t)load_u16(w[1] + o + 64) << 16 |
                         (uint64_t)load_u16(w[2] + o + 64) << 32 | (uint64_t)load_u16(w[3] + o + 64) << 48;
    const __m512 d4 = _mm512_castps128_ps512(_mm_mul_ps(_mm_set1_ps(da[b]), _mm_cvtph_ps(_mm_cvtsi64_si128((long long)dw4))));  // da·dw(row r), r = 0..3
    acc01 = _mm512_fmadd_ps(cvtepi32_512(la), _mm512_permutexvar_ps(pick01, d4), acc01);
    acc23 = _mm512_fmadd_ps(cvtepi32_512(lb), _mm512_permutexvar_ps(pick23, d4), acc23);
  }
  const float res[4] = {hsum_f32(_mm512_castps512_ps256(acc01)), hsum_f32(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc01), 1))),
                        hsum_f32(_mm512_castps512_ps256(acc23)), hsum_f32(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc23), 1)))};
  for (int r = 0; r < C; ++r) a.out[n + r] = res[r];
}

/** Rows [n0, n1) four at a time, the last 1..3 in one pass of exactly that many. */
template <bool L2, class Fields>
inline void tq2_rows_all512(const TernaryMatmulArgs& a, int64_t n0, int64_t n1, const int8_t* qp, const int32_t* ngsum, const Fields& fields) {
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) tq2_rows512<L2, 4>(a, n, qp, ngsum, fields);
  switch (n1 - n) {
    case 3: tq2_rows512<L2, 3>(a, n, qp, ngsum, fields); break;
    case 2: tq2_rows512<L2, 2>(a, n, qp, ngsum, fields); break;
    case 1: tq2_rows512<L2, 1>(a, n, qp, ngsum, fields); break;
    default: break;
  }
}

/** The one-row TQ2_0 matmul over weight rows [n0, n1): the activation row repacked (per call and thread), then the rows. */
template <class Fields>
inline void tq2_decode512(const TernaryMatmulArgs& a, int64_t n0, int64_t n1, const Fields& fields) {
  const int64_t nb = a.K / QK_K;
  Scratch s((size_t)a.K), g((size_t)(64 * nb), 1);
  repack_tq2_row(a.q, a.K, s.p);
  int32_t* ng = reinterpret_cast<int32_t*>(g.p);
  for (int64_t b = 0; b < nb; ++b)
    for (int k = 0; k < 8; ++k) ng[16 * b + k] = -a.sum[8 * b + k], ng[16 * b + 8 + k] = 0;
  if (a.stream_l2)
    tq2_rows_all512<true>(a, n0, n1, s.p, ng, fields);
  else
    tq2_rows_all512<false>(a, n0, n1, s.p, ng, fields);
}

}  // namespace
}  // namespace avx512
}  // namespace bitnet
