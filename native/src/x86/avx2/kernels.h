// The AVX2 + FMA + F16C kernels (each source in this folder is compiled with -mavx2 -mfma -mf16c).
// Selected when the CPU has them and the OS saves YMM state. The AVX-512 table starts from
// avx2_table() and calls these through it, never by compiling this folder's sources again.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../../core/kernel_table.h"

namespace bitnet {
namespace avx2 {

/** The reference table with every entry this folder has an AVX2 kernel for, named `isa`. */
KernelTable avx2_table(const char* isa);

// ternary_i2s.cpp, ternary_tq.cpp, q8_0.cpp
void matmul_i2s_i8(const TernaryMatmulArgs& a, int64_t n0, int64_t n1);
void matmul_tq2_0_q8k(const TernaryMatmulArgs& a, int64_t n0, int64_t n1);
void matmul_tq1_0_q8k(const TernaryMatmulArgs& a, int64_t n0, int64_t n1);
void matmul_q8_0_q8_0(const Q8_0MatmulArgs& a, int64_t n0, int64_t n1);

// float_matmul.cpp
extern const FloatMatmulFn matmul_f32;
void matmul_f16(const FloatMatmulArgs& a, int64_t n0, int64_t n1);  // ggml_vec_dot_f16 (AVX2) exactly
extern const FloatMatmulFn matmul_bf16;
extern const FloatMatmulFn matmul_q8_0_f32;
extern const FloatMatmulFn matmul_q4_k_f32;
extern const FloatMatmulFn matmul_q6_k_f32;

// quantize.cpp
void quantize_i8_row(const float* x, int64_t K, int8_t* q, float* scale, int32_t* sum);
void quantize_q8k_row(const float* x, int64_t K, int8_t* q, float* d, int16_t* bsums);
void quantize_q8_0_row(const float* x, int64_t K, int8_t* q, float* d);
// convert.cpp (load-time conversions, bit for bit the ref:: ones)
void encode_q8_0_row(const float* x, int64_t K, uint8_t* out);
void f16_row_to_f32(const uint8_t* src, float* out, int64_t n);
void repack_tq1_0_blocks(const uint8_t* src, int64_t blocks, uint8_t* dst);
void weigh_logits(const float* l, int64_t n, double max, double temperature, double band_scale, int bands, double* weights, uint8_t* band);  // sampling.cpp
int64_t argmax(const float* x, int64_t n);  // sampling.cpp
double sum_exp(const float* x, int64_t n, double max);  // sampling.cpp
void sum_groups32_i8(const int8_t* q, int64_t groups, int32_t* out);

// elementwise.cpp
void silu_mul(const float* gate, const float* up, float* out, int64_t n);
void relu_sqr_mul(const float* gate, const float* up, float* out, int64_t n);
void scale(const float* x, float s, float* out, int64_t n);
void to_f16(const float* x, uint16_t* out, int64_t n);
void softmax_row(float* x, int64_t n);
void rope_neox_token(float* x, int64_t heads, int64_t headDim, int64_t ropeDim, int32_t pos, double freqBase);
void add(const float* a, const float* b, float* out, int64_t n);
uint64_t stream_read(const uint8_t* p, size_t n);
uint64_t int8_peak(uint64_t rounds, int64_t* checksum);  // peak.cpp

// rms_norm.cpp
void rms_norm_row(const float* x, int64_t n, const float* w, float eps, float* out);
void rms_norm_rows4(const float* x, int64_t n, const float* w, float eps, float* out);

// i8r.cpp: the screened output (matmulI8rI8 widened to 16 bits; the load-time rows of core/i8r_rows.h)
void matmul_i8r_i8(const I8rMatmulArgs& a, int64_t n0, int64_t n1);
void encode_i8r_row(const float* x, int64_t K, uint8_t* codes, float* scale);
void screen_bounds_i8r_row(const float* w, const uint8_t* codes, float scale, int64_t K, float* out);

// attention.cpp
void attention_group(const AttentionArgs& a, int64_t t0, int64_t t1, int64_t kvh, float* scratch);
/** The f16-rounded queries of token t's heads that read kv head kvh, into qr ([heads/kvHeads][headDim]). */
void attention_queries(const AttentionArgs& a, int64_t t, int64_t kvh, float* qr);
/** Scores → p·V weights in place: softmax over [0, visible), rounded to f16, zero up to the next multiple of 32. */
void attention_weights(float* w, int64_t visible);

}  // namespace avx2
}  // namespace bitnet
