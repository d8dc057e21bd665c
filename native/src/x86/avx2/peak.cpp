// The int8 multiply-add ceiling probe, AVX2: the instruction mix the AVX2 int8 kernels use for a
// u8 × s8 dot (vpmaddubsw into 16-bit pairs, vpmaddwd by ones into 32-bit lanes, vpaddd), in 8
// independent chains so that throughput, not latency, decides.
#include "../intrin.h"

#include <cstdint>

#include "kernels.h"
#include "simd.h"

namespace bitnet {
namespace avx2 {

uint64_t int8_peak(uint64_t rounds, int64_t* checksum) {
  const __m256i u = _mm256_set1_epi8(1), ones = _mm256_set1_epi16(1);
  __m256i x = _mm256_set1_epi8(2);
  __m256i a[8];
  for (int i = 0; i < 8; ++i) a[i] = _mm256_setzero_si256();
  for (uint64_t r = 0; r < rounds; ++r) {
    __asm__("" : "+x"(x));  // the operand is not loop-invariant as far as the compiler knows
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) a[i] = _mm256_add_epi32(a[i], _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), ones));
  }
  *checksum = lane_sum_i64(a, 8);
  return rounds * 8 * 32;
}

}  // namespace avx2
}  // namespace bitnet
