// The int8 multiply-add ceiling probe, AVX-512 VNNI: 512-bit vpdpbusd in 10 independent chains (Zen 4
// issues one a cycle: 64 multiply-adds; more chains than its latency, so throughput decides).
#include "../intrin.h"

#include <cstdint>

#include "kernels.h"
#include "simd512.h"

namespace bitnet {
namespace avx512 {

uint64_t int8_peak_512(uint64_t rounds, int64_t* checksum) {
  const __m512i u = _mm512_set1_epi8(1);
  __m512i x = _mm512_set1_epi8(2);
  __m512i a[10];
  for (int i = 0; i < 10; ++i) a[i] = _mm512_setzero_si512();
  for (uint64_t r = 0; r < rounds; ++r) {
#if defined(BITNET_AVX512_EMULATED)
    __asm__ volatile("" : : "g"(&x) : "memory");  // SIMDe's vectors are not register operands
#else
    __asm__("" : "+v"(x));  // the operand is not loop-invariant as far as the compiler knows
#endif
#pragma GCC unroll 10
    for (int i = 0; i < 10; ++i) a[i] = dpbusd512(a[i], u, x);
  }
  int64_t sum = 0;  // in 64 bits: at 2^26 rounds the ten chains' lanes sum past 2^31
  for (int i = 0; i < 10; ++i) {
    alignas(64) int32_t lanes[16];
    _mm512_store_si512(lanes, a[i]);
    for (int l = 0; l < 16; ++l) sum += lanes[l];
  }
  *checksum = sum;
  return rounds * 10 * 64;
}

}  // namespace avx512
}  // namespace bitnet
