// The reference kernel table ("generic"), and the starting point of every SIMD table.
#include "../core/dequant_rows.h"
#include "../core/kernel_table.h"
#include "ref.h"

namespace bitnet {
namespace ref {

KernelTable table(const char* isa) {
  KernelTable t{};
  t.isa = isa;
  t.quantize_i8_row = quantize_i8_row_ref;
  t.quantize_q8k_row = quantize_q8k_row_ref;
  t.quantize_q8_0_row = quantize_q8_0_row_ref;
  t.sum_groups32_i8 = sum_groups32_i8_ref;

  // Row kernels by tensor type (a type without an entry is refused by the binding).
  t.types[GGML_F32] = {dequant_row_f32, matmul_f32_ref, nullptr, nullptr};
  t.types[GGML_F16] = {dequant_row_f16, matmul_f16_ref, nullptr, nullptr};
  t.types[GGML_BF16] = {dequant_row_bf16, matmul_bf16_ref, nullptr, nullptr};
  t.types[GGML_Q8_0] = {dequant_row_q8_0, matmul_q8_0_f32_ref, nullptr, matmul_q8_0_q8_0_ref};
  t.types[GGML_Q4_K] = {dequant_row_q4_k, matmul_q4_k_f32_ref, nullptr, nullptr};
  t.types[GGML_Q6_K] = {dequant_row_q6_k, matmul_q6_k_f32_ref, nullptr, nullptr};
  t.types[GGML_TQ1_0] = {dequant_row_tq1_0, nullptr, matmul_tq1_0_q8k_ref, nullptr};
  t.types[GGML_TQ2_0] = {dequant_row_tq2_0, nullptr, matmul_tq2_0_q8k_ref, nullptr};
  t.types[GGML_I2_S] = {dequant_row_i2s, nullptr, matmul_i2s_i8_ref, nullptr};

  t.rms_norm_row = rms_norm_row_ref;
  t.rms_norm_rows4 = rms_norm_rows4_ref;
  t.rope_neox_token = rope_neox_token_ref;
  t.softmax_row = softmax_row_ref;
  t.attention_group = attention_group_ref;
  t.relu_sqr_mul = relu_sqr_mul_ref;
  t.silu_mul = silu_mul_ref;
  t.add = add_ref;
  t.scale = scale_ref;
  t.to_f16 = to_f16_ref;
  t.weigh_logits = weigh_logits_ref;
  t.argmax = argmax_ref;
  t.sum_exp = sum_exp_ref;
  t.stream_read = stream_read_ref;
  t.int8_peak = int8_peak_ref;
  t.encode_q8_0_row = encode_q8_0_row_ref;
  t.f16_row_to_f32 = f16_row_to_f32_ref;
  t.repack_tq1_0_blocks = repack_tq1_0_blocks_ref;
  t.matmul_i8r_i8 = matmul_i8r_i8_ref;
  t.encode_i8r_row = encode_i8r_row_ref;
  t.screen_bounds_i8r_row = screen_bounds_i8r_row_ref;
  t.screen_candidates = screen_candidates_ref;
  return t;
}

}  // namespace ref

const KernelTable* kernel_table_generic() {
  static const KernelTable t = ref::table("generic");
  return &t;
}

}  // namespace bitnet
