// The AVX2 kernel table: the reference table with the entries this folder replaces. Entries not
// replaced (dequantization for getRows) are the reference kernels.
#include "../../ref/ref.h"
#include "kernels.h"

namespace bitnet {
namespace avx2 {

KernelTable avx2_table(const char* isa) {
  KernelTable t = ref::table(isa);
  t.quantize_i8_row = quantize_i8_row;
  t.quantize_q8k_row = quantize_q8k_row;
  t.quantize_q8_0_row = quantize_q8_0_row;
  t.sum_groups32_i8 = sum_groups32_i8;
  t.types[GGML_I2_S].matmul_ternary = matmul_i2s_i8;
  t.types[GGML_TQ2_0].matmul_ternary = matmul_tq2_0_q8k;
  t.types[GGML_TQ1_0].matmul_ternary = matmul_tq1_0_q8k;
  t.types[GGML_Q8_0].matmul_q8_0 = matmul_q8_0_q8_0;
  t.types[GGML_F32].matmul_f32 = matmul_f32;
  t.types[GGML_F16].matmul_f32 = matmul_f16;
  t.types[GGML_BF16].matmul_f32 = matmul_bf16;
  t.types[GGML_Q8_0].matmul_f32 = matmul_q8_0_f32;
  t.types[GGML_Q4_K].matmul_f32 = matmul_q4_k_f32;
  t.types[GGML_Q6_K].matmul_f32 = matmul_q6_k_f32;
  t.attention_group = attention_group;
  t.softmax_row = softmax_row;
  t.weigh_logits = weigh_logits;
  t.argmax = argmax;
  t.sum_exp = sum_exp;
  t.rms_norm_row = rms_norm_row;
  t.rms_norm_rows4 = rms_norm_rows4;
  t.rope_neox_token = rope_neox_token;
  t.add = add;
  t.silu_mul = silu_mul;
  t.relu_sqr_mul = relu_sqr_mul;
  t.scale = scale;
  t.to_f16 = to_f16;
  t.stream_read = stream_read;
  t.int8_peak = int8_peak;
  t.encode_q8_0_row = encode_q8_0_row;
  t.f16_row_to_f32 = f16_row_to_f32;
  t.repack_tq1_0_blocks = repack_tq1_0_blocks;
  t.matmul_i8r_i8 = matmul_i8r_i8;
  t.encode_i8r_row = encode_i8r_row;
  t.screen_bounds_i8r_row = screen_bounds_i8r_row;
  return t;
}

}  // namespace avx2

const KernelTable* kernel_table_avx2() {
  static const KernelTable t = avx2::avx2_table("avx2");
  return &t;
}

}  // namespace bitnet
