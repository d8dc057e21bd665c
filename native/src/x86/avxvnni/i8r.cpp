// matmulI8rI8 on AVX-VNNI: the tiles of ../avx2/i8r_256.h with 256-bit vpdpbusd (codes the unsigned
// operand, activations the signed one; Σ c·q exact in int32). The load-time rows are AVX2's.
#include <cstring>

#include "../avx2/i8r_256.h"
#include "dpbusd256.h"
#include "kernels.h"

namespace bitnet {
namespace avxvnni {

namespace {

struct VnniDot {
  static constexpr int kStep = 32;
  using W = __m256i;
  static __m256i load_w(const uint8_t* p) { return _mm256_loadu_si256((const __m256i*)p); }
  using A = int8_t;
  static void copy_row(int8_t* dst, const int8_t* src, int64_t K) { std::memcpy(dst, src, (size_t)K); }
  static __m256i load_a(const int8_t* p) { return _mm256_load_si256((const __m256i*)p); }
  static __m256i keep(__m256i v) {
#if !defined(BITNET_AVXVNNI_EMULATED)
    __asm__("" : "+x"(v));
#endif
    return v;
  }
  static __m256i dot(__m256i acc, __m256i w, __m256i a) { return dpbusd(acc, w, a); }
};

}  // namespace

void matmul_i8r_i8_vnni(const I8rMatmulArgs& a, int64_t n0, int64_t n1) { i8r256::matmul<VnniDot>(a, n0, n1); }

}  // namespace avxvnni
}  // namespace bitnet
