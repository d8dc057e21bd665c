// The AVX2 unpacking of a TQ1_0 block into its codes, shared by the TQ1_0 matmul (ternary_tq.cpp) and
// the TQ1_0 → TQ2_0 repack (convert.cpp).
#pragma once

#include <cstdint>

#include "../../core/scalar.h"
#include "simd.h"

namespace bitnet {
namespace avx2 {

// Trits of 4 qh bytes: v[b] holds trit n of byte b in byte n (n = 0..3).
struct QhTable {
  uint32_t v[256];
  QhTable() {
    for (int b = 0; b < 256; ++b) {
      uint32_t x = 0;
      for (int n = 0; n < 4; ++n) x |= (uint32_t)tq1_trit((uint8_t)b, n) << (8 * n);
      v[b] = x;
    }
  }
};

/** Trits of 32 (ymm) / 16 (xmm) TQ1_0 bytes, biased: s = b ^ 0x80. Trit n of b is (t ≥ 86) +
 *  (t ≥ 171) with t = b·3^n mod 256; the biased t of the next trit is 3·s mod 256 (two byte adds). */
inline __m256i trit256(__m256i s) {
  const __m256i t1 = _mm256_cmpgt_epi8(s, _mm256_set1_epi8(-43)), t2 = _mm256_cmpgt_epi8(s, _mm256_set1_epi8(42));
  return _mm256_sub_epi8(_mm256_sub_epi8(_mm256_setzero_si256(), t1), t2);
}
inline __m128i trit128(__m128i s) {
  const __m128i t1 = _mm_cmpgt_epi8(s, _mm_set1_epi8(-43)), t2 = _mm_cmpgt_epi8(s, _mm_set1_epi8(42));
  return _mm_sub_epi8(_mm_sub_epi8(_mm_setzero_si128(), t1), t2);
}

/** One TQ1_0 block as 8 vectors of 32 codes (0..2) in element order. */
inline void tq1_unpack(const uint8_t* blk, __m256i* c, const QhTable& qh) {
  __m256i s = _mm256_xor_si256(load256(blk), _mm256_set1_epi8((char)0x80));
  for (int n = 0; n < 5; ++n) {  // qs[0..31]: element 32n + m
    c[n] = trit256(s);
    s = _mm256_add_epi8(s, _mm256_add_epi8(s, s));
  }
  __m128i s1 = _mm_xor_si128(load128(blk + 32), _mm_set1_epi8((char)0x80));
  __m128i t[5];
  for (int n = 0; n < 5; ++n) {  // qs[32..47]: element 160 + 16n + m
    t[n] = trit128(s1);
    s1 = _mm_add_epi8(s1, _mm_add_epi8(s1, s1));
  }
  // qh: element 240 + 4n + j is trit n of qh[j]; the table gives byte 4j + n: transpose 4×4.
  const __m128i v = _mm_setr_epi32((int)qh.v[blk[48]], (int)qh.v[blk[49]], (int)qh.v[blk[50]], (int)qh.v[blk[51]]);
  const __m128i h = _mm_shuffle_epi8(v, _mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
  c[5] = _mm256_set_m128i(t[1], t[0]);
  c[6] = _mm256_set_m128i(t[3], t[2]);
  c[7] = _mm256_set_m128i(h, t[4]);
}

}  // namespace avx2
}  // namespace bitnet
