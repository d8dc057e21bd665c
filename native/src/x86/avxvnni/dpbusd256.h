// The VEX-encoded 256-bit vpdpbusd both AVX-VNNI kernel files use (ternary.cpp, i8r.cpp).
#pragma once

#include <immintrin.h>

namespace bitnet {
namespace avxvnni {

/**
 * acc + Σ of four u8·s8 products per 32-bit lane, accumulated in place: GCC 12 copies the intrinsic's
 * accumulator into a fresh register before the instruction and back after it (22 register copies per
 * 16 vpdpbusd in the four-row I2_S loop), as with the 512-bit form (see simd512.h: dpbusd512).
 */
inline __m256i dpbusd(__m256i acc, __m256i u, __m256i s) {
#if defined(BITNET_AVXVNNI_EMULATED)
  return _mm256_dpbusd_epi32(acc, u, s);  // SIMDe: the AVX512-VL form, the same operation
#else
  __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(u), "xm"(s));
  return acc;
#endif
}

}  // namespace avxvnni
}  // namespace bitnet
