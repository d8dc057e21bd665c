// The AVX-512 kernel table: the AVX2 table (built by the AVX2 sources, with their flags) with the
// entries where 512 bits pay replaced. TQ1_0 keeps the 256-bit unpack + vpmaddubsw; F16 stays
// ggml_vec_dot_f16 (AVX2) exactly; Q8_0 × Q8_0 keeps the AVX2 kernel for one activation row (bound by
// memory bandwidth; 256-bit vpmaddubsw reproduces ggml's lanes directly) and tiles several (q8_0_tiles.cpp).
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "../../core/ggml_math.h"
#include "../../core/kernel_table.h"
#include "../../core/scalar.h"
#include "../avx2/kernels.h"
#include "../avx2/simd.h"
#include "kernels.h"
#include "simd512.h"

namespace bitnet {
namespace avx512 {

/** The bandwidth probe's reader: 512-bit loads; a tail under 128 bytes goes to the AVX2 reader. */
static uint64_t stream_read512(const uint8_t* p, size_t n) {
  __m512i a0 = _mm512_setzero_si512(), a1 = a0;
  size_t i = 0;
  for (; i + 128 <= n; i += 128) {
    a0 = _mm512_xor_si512(a0, _mm512_load_si512((const void*)(p + i)));
    a1 = _mm512_xor_si512(a1, _mm512_load_si512((const void*)(p + i + 64)));
  }
  const __m256i x = fold512(_mm512_xor_si512(a0, a1));
  return (uint64_t)_mm256_extract_epi64(x, 0) ^ (uint64_t)_mm256_extract_epi64(x, 1) ^ (uint64_t)_mm256_extract_epi64(x, 2) ^
         (uint64_t)_mm256_extract_epi64(x, 3) ^ (i < n ? avx2::stream_read(p + i, n - i) : 0);
}

}  // namespace avx512

const KernelTable* kernel_table_avx512() {
  static const KernelTable t = [] {
    KernelTable t = avx2::avx2_table("avx512");
    t.quantize_q8k_row = avx512::quantize_q8k_row_512;
    t.types[GGML_I2_S].matmul_ternary = avx512::matmul_i2s_i8_512;
    t.types[GGML_TQ2_0].matmul_ternary = avx512::matmul_tq2_0_q8k_512;
    t.types[GGML_F32].matmul_f32 = avx512::matmul_f32_512;
    t.types[GGML_BF16].matmul_f32 = avx512::matmul_bf16_512;
    t.types[GGML_F16].matmul_f32 = avx512::matmul_f16_512;
    t.types[GGML_Q8_0].matmul_f32 = avx512::matmul_q8_0_f32;
    t.types[GGML_Q8_0].matmul_q8_0 = avx512::matmul_q8_0_q8_0_512;
    t.types[GGML_Q4_K].matmul_f32 = avx512::matmul_q4_k_f32;
    t.types[GGML_Q6_K].matmul_f32 = avx512::matmul_q6_k_f32;
    t.attention_group = avx512::attention_group_512;
    t.softmax_row = avx512::softmax_row_512;
    t.stream_read = avx512::stream_read512;
    t.int8_peak = avx512::int8_peak_512;
    t.weigh_logits = avx512::weigh_logits_512;
    t.argmax = avx512::argmax_512;
    t.sum_exp = avx512::sum_exp_512;
    t.matmul_i8r_i8 = avx512::matmul_i8r_i8_512;
    t.encode_i8r_row = avx512::encode_i8r_row_512;
    t.screen_bounds_i8r_row = avx512::screen_bounds_i8r_row_512;
    t.screen_candidates = avx512::screen_candidates_512;
    return t;
  }();
  return &t;
}

}  // namespace bitnet
