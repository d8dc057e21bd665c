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

static KernelTable make_table() {
  KernelTable t = portable_table("avx2");
  t.quantize_i8_row = quantize_i8_row;
  t.quantize_q8k_row = quantize_q8k_row;
  t.matmul_i2s_i8 = matmul_i2s_i8;
  t.matmul_tq2_0_q8k = matmul_tq2_0_q8k;
  t.matmul_tq1_0_q8k = matmul_tq1_0_q8k;
  t.matmul_float[W_F32] = matmul_float_simd<LoadF32>;
  t.matmul_float[W_F16] = matmul_f16_ggml;
  t.matmul_float[W_BF16] = matmul_float_simd<LoadBF16>;
  t.matmul_float[W_Q8_0] = matmul_quant_simd<dequant_row_q8_0>;
  t.matmul_float[W_Q4_K] = matmul_quant_simd<dequant_row_q4_k>;
  t.matmul_float[W_Q6_K] = matmul_quant_simd<dequant_row_q6_k>;
  t.attention_group = attention_group;
  t.softmax_row = softmax_row;
  t.silu_mul = silu_mul;
  t.relu_sqr_mul = relu_sqr_mul;
  t.scale = scale;
  t.to_f16 = to_f16;
  t.stream_read = stream_read;
  t.quantize_q8_0_row = quantize_q8_0_row;
  t.matmul_q8_0_q8_0 = matmul_q8_0_q8_0;
  return t;
}

}  // namespace
}  // namespace avx2

const KernelTable* kernel_table_avx2() {
  static const KernelTable t = avx2::make_table();
  return &t;
}

}  // namespace bitnet
