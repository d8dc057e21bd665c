// The kernel entry points the binding calls: each runs the selected table's kernels over the thread
// pool. Every buffer has been checked by the caller (binding/) against the shapes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../core/kernel_table.h"
#include "../core/tensor_types.h"

namespace bitnet {

void quantize_i8_per_token(const float* x, int64_t rows, int64_t cols, int8_t* q, float* scales, int32_t* sums);
void quantize_q8k(const float* x, int64_t rows, int64_t cols, int8_t* q, float* d, int16_t* bsums);
/** The most matrices one matmul_ternary_many call takes (more than any layer has). */
constexpr int64_t kMaxTernaryParts = 64;

/** One matrix of matmul_ternary_many: N rows of w (checked to hold them), its output (M × N) and output scale. */
struct TernaryPart {
  const uint8_t* w;
  int64_t N;
  float* out;
  float out_scale;
};
/**
 * Several matrices of one ternary type (I2_S, TQ2_0, TQ1_0) times the same activations, in one pass
 * over the pool: each part's result is what it gives alone (matmul_i2s_i8 / matmul_tq_q8k are the one-part case). act_scale:
 * I2_S per-token scales or the Q8_K block scales d; act_sums: I2_S per-token sums (unused for TQ).
 */
void matmul_ternary_many(const TensorType& type, const TernaryPart* parts, int64_t count /* 1 .. kMaxTernaryParts */, int64_t K, const int8_t* q, const float* act_scale,
                         const int32_t* act_sums, int64_t M);
void quantize_q8_0(const float* x, int64_t rows, int64_t cols, int8_t* q, float* d);

// The integer matmuls multiply their output by out_scale (1: not at all) as the `scale` kernel does,
// each part on the thread that computed it: the result is bit for bit the matmul, then `scale`.
void matmul_i2s_i8(const uint8_t* w, int64_t N, int64_t K, const int8_t* q, const float* scales, const int32_t* sums,
                   int64_t M, float* out, float out_scale = 1.0f);
/** type: TQ1_0 or TQ2_0 (a type whose kernels have a matmul_ternary over Q8_K activations). */
void matmul_tq_q8k(const TensorType& type, const uint8_t* w, int64_t N, int64_t K, const int8_t* q, const float* d, int64_t M,
                   float* out, float out_scale = 1.0f);
void matmul_q8_0_q8_0(const uint8_t* w, int64_t N, int64_t K, const int8_t* q, const float* d, int64_t M, float* out,
                      float out_scale = 1.0f);
/** matmulI8rI8: N × K codes (K % 32 == 0, K ≤ 32768) with N row scales, times M rows of int8 activations. */
void matmul_i8r_i8(const uint8_t* codes, const float* wscale, int64_t N, int64_t K, const int8_t* q, const float* scales, const int32_t* sums,
                   int64_t M, float* out);
/** type: one whose kernels have a matmul_f32. */
void matmul_float(const TensorType& type, const uint8_t* w, int64_t N, int64_t K, const float* x, int64_t M, float* out);
/**
 * out[j] = matmul_float's element (x_row[j], w_row[j]) for j < P, bit for bit: each pick is the
 * table's matmul_f32 on one weight row and one activation row, whose per-element arithmetic does
 * not depend on the call's N or M (threads/picked.cpp). Indices already checked to be in range.
 */
void matmul_float_picked(const TensorType& type, const uint8_t* w, int64_t K, const float* x, const int32_t* w_row, const int32_t* x_row,
                         int64_t P, float* out);
/** type: one whose kernels have a dequant_row; ids already checked to be in [0, N). */
void get_rows(const TensorType& type, const uint8_t* w, int64_t N, int64_t K, const int32_t* ids, int64_t count, float* out);

void rms_norm(const float* x, int64_t rows, int64_t cols, const float* w, float eps, float* out);
void rope_neox(float* x, int64_t tokens, int64_t heads, int64_t headDim, int64_t ropeDim, const int32_t* positions, double freqBase);
void softmax(float* x, int64_t rows, int64_t cols);
void attention(const AttentionArgs& a);
/** Several attention calls (each as `attention` checks it) in one pass over the pool; each call's
 *  results are bit for bit its own call's. */
void attention_many(const AttentionArgs* parts, int64_t count);
/**
 * Rows k, v (tokens × kvHeads × headDim f32) rounded to f16 into the cache at positions startPos..:
 * keys [kvHeads][capacity][headDim], values transposed [kvHeads][headDim][capacity]; or, with `blocks`
 * (ids already checked), the same per block of blockTokens positions (AttentionArgs).
 */
void store_kv(const float* k, const float* v, int64_t tokens, int64_t kvHeads, int64_t headDim, int64_t startPos, int64_t capacity,
              const int32_t* blocks, int64_t blockTokens, uint16_t* kCache, uint16_t* vCache);
void relu_sqr_mul(const float* gate, const float* up, float* out, int64_t n);
void silu_mul(const float* gate, const float* up, float* out, int64_t n);
void add(const float* a, const float* b, float* out, int64_t n);
void scale(const float* x, float s, float* out, int64_t n);
void to_f16(const float* x, uint16_t* out, int64_t n);

}  // namespace bitnet
