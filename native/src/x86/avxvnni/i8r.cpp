// matmulI8rI8 on AVX-VNNI: the tiles of ../avx2/i8r_256.h with 256-bit vpdpbusd (codes the unsigned
// operand, activations the signed one; Σ c·q exact in int32). The load-time rows are AVX2's.
#include "../avx2/i8r_256.h"
#include "kernels.h"

namespace bitnet {
namespace avxvnni {

namespace {

struct VnniDot {
  static constexpr int kStep = 32;
  using W = __m256i;
  static __m256i load_w(const uint8_t* p) { return _mm256_loadu_si256((const __m256i*)p); }
  static __m256i load_a(const int8_t* p) { return _mm256_loadu_si256((const __m256i*)p); }
  static __m256i dot(__m256i acc, __m256i w, __m256i a) {
#if defined(BITNET_AVXVNNI_EMULATED)
    return _mm256_dpbusd_epi32(acc, w, a);  // SIMDe: the AVX512-VL form, the same operation
#else
    __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(w), "xm"(a));
    return acc;
#endif
  }
};

}  // namespace

void matmul_i8r_i8_vnni(const I8rMatmulArgs& a, int64_t n0, int64_t n1) { i8r256::matmul<VnniDot>(a, n0, n1); }

}  // namespace avxvnni
}  // namespace bitnet
