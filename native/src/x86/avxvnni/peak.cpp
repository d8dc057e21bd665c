// The int8 multiply-add ceiling probe, AVX-VNNI: 256-bit vpdpbusd (VEX) in 10 independent chains.
#include "../intrin.h"

#include <cstdint>

#include "../avx2/simd.h"
#include "dpbusd256.h"
#include "kernels.h"

namespace bitnet {
namespace avxvnni {

uint64_t int8_peak_vnni(uint64_t rounds, int64_t* checksum) {
  const __m256i u = _mm256_set1_epi8(1);
  __m256i x = _mm256_set1_epi8(2);
  __m256i a[10];
  for (int i = 0; i < 10; ++i) a[i] = _mm256_setzero_si256();
  for (uint64_t r = 0; r < rounds; ++r) {
#if defined(BITNET_AVXVNNI_EMULATED)
    __asm__ volatile("" : : "g"(&x) : "memory");  // SIMDe's vectors are not register operands
#else
    __asm__("" : "+x"(x));  // the operand is not loop-invariant as far as the compiler knows
#endif
#pragma GCC unroll 10
    for (int i = 0; i < 10; ++i) a[i] = dpbusd(a[i], u, x);
  }
  *checksum = lane_sum_i64(a, 10);
  return rounds * 10 * 32;
}

}  // namespace avxvnni
}  // namespace bitnet
