// The screened output on AVX2: matmulI8rI8 with codes and activations widened to 16 bits and vpmaddwd
// (exact: a pair of products is at most 2 · 255 · 128), in the tiles of i8r_256.h; the load-time rows
// are core/i8r_rows.h compiled with these flags.
#include "i8r_256.h"
#include "kernels.h"

namespace bitnet {
namespace avx2 {

namespace {

struct WidenDot {
  static constexpr int kStep = 16;
  using W = __m256i;
  static __m256i load_w(const uint8_t* p) { return _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i*)p)); }
  using A = int16_t;  // activations widened once, in the aligned copy
  static void copy_row(int16_t* dst, const int8_t* src, int64_t K) {
    for (int64_t k = 0; k < K; k += 16) _mm256_store_si256((__m256i*)(dst + k), _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)(src + k))));
  }
  static __m256i load_a(const int16_t* p) { return _mm256_load_si256((const __m256i*)p); }
  static __m256i keep(__m256i v) {
    __asm__("" : "+x"(v));
    return v;
  }
  static __m256i dot(__m256i acc, __m256i w, __m256i a) {
    const __m256i t = _mm256_madd_epi16(w, a);
    __asm__("vpaddd %1, %0, %0" : "+x"(acc) : "x"(t));  // in place (see i8r_256.h: tile)
    return acc;
  }
};

}  // namespace

void matmul_i8r_i8(const I8rMatmulArgs& a, int64_t n0, int64_t n1) { i8r256::matmul<WidenDot>(a, n0, n1); }

void encode_i8r_row(const float* x, int64_t K, uint8_t* codes, float* scale) { i8r::encode_row(x, K, codes, scale); }

void screen_bounds_i8r_row(const float* w, const uint8_t* codes, float scale, int64_t K, float* out) { i8r::bounds_row(w, codes, scale, K, out); }

}  // namespace avx2
}  // namespace bitnet
