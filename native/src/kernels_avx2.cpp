// AVX2 + FMA + F16C kernels (compiled with -mavx2 -mfma -mf16c). Selected when the CPU has them and
// the OS saves YMM state. Entries not overridden here are the portable kernels compiled with these
// flags. The kernel bodies live in simd_avx2.inl (shared with the AVX-512 TU).
#include <immintrin.h>

#include <cstdlib>

#include "common.h"
#include "kernels.h"

namespace bitnet {
namespace avx2 {
namespace {
#include "kernels_portable.inl"
#include "simd_avx2.inl"

static KernelTable make_table() { return avx2_table("avx2"); }

}  // namespace
}  // namespace avx2

const KernelTable* kernel_table_avx2() {
  static const KernelTable t = avx2::make_table();
  return &t;
}

}  // namespace bitnet
