// The int8 multiply-add ceiling probe, generic C++: what the compiler makes of a plain u8 × s8 dot
// loop (the reference kernels' arithmetic), for the kernels bench's "% of int8 peak" on a machine
// that runs the reference table.
#include <cstdint>

#include "ref.h"

namespace bitnet {
namespace ref {

uint64_t int8_peak_ref(uint64_t rounds, int64_t* checksum) {
  // 8 independent 32-bit accumulators, each adding 4 products of u8 1 × s8 2 a round (8 a round).
  uint8_t u[32];
  int8_t s[32];
  for (int i = 0; i < 32; ++i) u[i] = 1, s[i] = 2;
  int32_t acc[8] = {0};
  // u and s escape: after each round's barrier the compiler must load and multiply them again, not
  // fold the products into one constant add
  __asm__ volatile("" : : "r"(u), "r"(s) : "memory");
  for (uint64_t r = 0; r < rounds; ++r) {
    for (int l = 0; l < 8; ++l)
      for (int j = 0; j < 4; ++j) acc[l] += (int32_t)u[4 * l + j] * (int32_t)s[4 * l + j];
    __asm__ volatile("" : : "r"(acc) : "memory");  // one round at a time: the loop is the measure
  }
  int64_t sum = 0;
  for (int l = 0; l < 8; ++l) sum += acc[l];
  *checksum = sum;
  return rounds * 32;
}

}  // namespace ref
}  // namespace bitnet
