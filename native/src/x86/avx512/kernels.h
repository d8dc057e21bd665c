// The AVX-512 kernels (each source in this folder is compiled with -mavx512f -mavx512bw -mavx512vl
// -mavx512dq -mavx512vnni -mavx512bf16 -mfma -mf16c). Selected when the CPU has all of these and the
// OS saves ZMM/opmask state. Everything not here comes from the AVX2 table.
//
// BITNET_AVX512_EMULATED (test-only build, see CMakeLists.txt): these sources are compiled for AVX2
// with SIMDe implementing the AVX-512 intrinsics, so machines without AVX-512 can test them.
#pragma once

#include <cstdint>

#include "../../core/kernel_table.h"

namespace bitnet {
namespace avx512 {

// quantize.cpp
void quantize_q8k_row_512(const float* x, int64_t K, int8_t* q, float* d, int16_t* bsums);
void weigh_logits_512(const float* l, int64_t n, double max, double temperature, double band_scale, int bands, double* weights, uint8_t* band);  // sampling.cpp
int64_t argmax_512(const float* x, int64_t n);  // sampling.cpp
double sum_exp_512(const float* x, int64_t n, double max);  // sampling.cpp

// ternary.cpp
void matmul_i2s_i8_512(const TernaryMatmulArgs& a, int64_t n0, int64_t n1);
uint64_t int8_peak_512(uint64_t rounds, int64_t* checksum);  // peak.cpp
void matmul_tq2_0_q8k_512(const TernaryMatmulArgs& a, int64_t n0, int64_t n1);

// ternary_tiles.cpp: the several-row (M > 1) parts of the two above (I2_S on activations repacked by
// matmul_i2s_i8_512, TQ2_0 on the activations as they are)
void i2s_tiles_512(const TernaryMatmulArgs& a, int64_t n0, int64_t n1, const int8_t* qp);
void tq2_tiles_512(const TernaryMatmulArgs& a, int64_t n0, int64_t n1);

// q8_0_tiles.cpp: Q8_0 × Q8_0 (several activation rows in register tiles; one row: the AVX2 kernel)
void matmul_q8_0_q8_0_512(const Q8_0MatmulArgs& a, int64_t n0, int64_t n1);

// i8r.cpp: the screened output (matmulI8rI8 in register tiles; the load-time rows of core/i8r_rows.h)
void matmul_i8r_i8_512(const I8rMatmulArgs& a, int64_t n0, int64_t n1);
void encode_i8r_row_512(const float* x, int64_t K, uint8_t* codes, float* scale);
void screen_bounds_i8r_row_512(const float* w, const uint8_t* codes, float scale, int64_t K, float* out);
int64_t screen_candidates_512(const float* a, const float* bounds, int64_t V, double c0, double c1, int32_t* ids, int64_t capacity);

// attention.cpp: the one-token arithmetic in zmm (batches go to avx2::attention_group)
void attention_group_512(const AttentionArgs& a, int64_t t0, int64_t t1, int64_t kvh, float* scratch);
// scores_transposed.cpp: keys of positions [0, reach) of kv head kvh in blocks of 16 positions, each
// dimension-major (kt[(p / 16)·16·D + 16·d + p % 16], f16; positions up to the next multiple of 16
// zero), and four heads' scores from them (positions up to visible rounded up to 16 are written: s[h]
// needs that room)
void transpose_keys_512(const AttentionArgs& a, int64_t kvh, int64_t reach, uint16_t* kt);
void scores_transposed4_512(const uint16_t* kt, int64_t D, int64_t visible, float scale, const float* const* q, float* const* s);

// softmax.cpp: avx2::softmax_row's bits on 16 lanes; attention weights (softmax, f16-rounded, zero to 32)
void softmax_row_512(float* x, int64_t n);
void attention_weights_512(float* w, int64_t visible);

// float_matmul.cpp
extern const FloatMatmulFn matmul_f32_512;
extern const FloatMatmulFn matmul_bf16_512;
extern const FloatMatmulFn matmul_f16_512;
extern const FloatMatmulFn matmul_q8_0_f32;
extern const FloatMatmulFn matmul_q4_k_f32;
extern const FloatMatmulFn matmul_q6_k_f32;

}  // namespace avx512
}  // namespace bitnet
