// AVX2 row kernels of the load-time conversions, bit for bit ref/convert.cpp.
#include <cstdint>

#include "../../core/scalar.h"
#include "../../core/tensor_types.h"
#include "../../ref/ref.h"
#include "kernels.h"
#include "simd.h"
#include "tq1_unpack.h"

namespace bitnet {
namespace avx2 {

/**
 * ref::encode_q8_0_row_ref with 8 lanes: the block's max |x| (vmaxps returns its second operand for
 * a NaN, so NaNs are skipped as std::max skips them; the max of the rest is the same in any order),
 * d and id in scalar code as the reference, then x · id rounded half away from zero: the truncation
 * t, plus ±1 where |x · id − t| ≥ 0.5 (that difference is exact). Bytes are the low bytes of the
 * int32 codes, as the reference's cast.
 */
void encode_q8_0_row(const float* x, int64_t K, uint8_t* out) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 sign_mask = _mm256_set1_ps(-0.0f), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
  const __m256i low_byte = _mm256_set1_epi32(0xff);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t b = 0; b < K / QK8_0; ++b) {
    const float* v = x + b * QK8_0;
    uint8_t* o = out + b * Q8_0_BYTES;
    __m256 xv[4];
    __m256 m = _mm256_setzero_ps();
    for (int i = 0; i < 4; ++i) {
      xv[i] = _mm256_loadu_ps(v + 8 * i);
      m = _mm256_max_ps(_mm256_and_ps(xv[i], abs_mask), m);
    }
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
    const float d = _mm_cvtss_f32(h) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t hd = f32_to_f16(d);
    o[0] = (uint8_t)(hd & 0xff);
    o[1] = (uint8_t)(hd >> 8);
    const __m256 idv = _mm256_set1_ps(id);
    __m256i q[4];
    for (int i = 0; i < 4; ++i) {
      const __m256 y = _mm256_mul_ps(xv[i], idv);
      const __m256 t = _mm256_round_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
      const __m256 away = _mm256_cmp_ps(_mm256_and_ps(_mm256_sub_ps(y, t), abs_mask), half, _CMP_GE_OQ);
      const __m256 step = _mm256_and_ps(away, _mm256_or_ps(_mm256_and_ps(y, sign_mask), one));
      q[i] = _mm256_and_si256(_mm256_cvttps_epi32(_mm256_add_ps(t, step)), low_byte);
    }
    // Per 128-bit lane the packs give dwords [q0 0..3, q1 0..3, q2 0..3, q3 0..3 | the same of 4..7].
    const __m256i bytes = _mm256_packus_epi16(_mm256_packus_epi32(q[0], q[1]), _mm256_packus_epi32(q[2], q[3]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + 2), _mm256_permutevar8x32_epi32(bytes, order));
  }
}

void f16_row_to_f32(const uint8_t* src, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i))));
  ref::f16_row_to_f32_ref(src + 2 * i, out + i, n - i);
}

/**
 * ref::repack_tq1_0_blocks_ref from the matmul's unpacking: the block's 256 codes as 8 vectors in
 * element order (tq1_unpack), then TQ2_0 byte (c, j) = codes 128c + j, +32, +64, +96 in bits 0, 2, 4, 6
 * (codes are 0..2, so the 16-bit shifts never carry into the next byte).
 */
void repack_tq1_0_blocks(const uint8_t* src, int64_t blocks, uint8_t* dst) {
  static const QhTable qh;
  for (int64_t b = 0; b < blocks; ++b) {
    const uint8_t* s = src + b * TQ1_0_BYTES;
    uint8_t* d = dst + b * TQ2_0_BYTES;
    __m256i c[8];
    tq1_unpack(s, c, qh);
    for (int h = 0; h < 2; ++h) {
      const __m256i* e = c + 4 * h;
      const __m256i v = _mm256_or_si256(_mm256_or_si256(e[0], _mm256_slli_epi16(e[1], 2)), _mm256_or_si256(_mm256_slli_epi16(e[2], 4), _mm256_slli_epi16(e[3], 6)));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + 32 * h), v);
    }
    d[64] = s[52];
    d[65] = s[53];
  }
}

}  // namespace avx2
}  // namespace bitnet
