// The portable reference kernels: plain C++ compiled once, without instruction set flags. They are
// the "generic" table (table.cpp) and the definition every SIMD kernel is tested against bit for bit;
// SIMD kernels also call a few of them for tails and rare cases. Semantics:
// packages/bitnet-kernels/src/api/Kernels.ts.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../core/kernel_table.h"

namespace bitnet {
namespace ref {

/** The reference table, named `isa`. */
KernelTable table(const char* isa);

// quantize.cpp
/** bitnet.cpp's quantize_row_i8_s: s = fround(127 / max(1e-5, max|x|)), q = clamp(nearest_int(x·s)), sum = Σq. */
void quantize_i8_row_ref(const float* x, int64_t K, int8_t* q, float* scale, int32_t* sum);
/** llama.cpp's quantize_row_q8_K_ref, per 256-block. */
void quantize_q8k_row_ref(const float* x, int64_t K, int8_t* q, float* d, int16_t* bsums);
/** llama.cpp's x86 quantize_row_q8_0, per 32-block. */
void quantize_q8_0_row_ref(const float* x, int64_t K, int8_t* q, float* d);
/** out[g] = Σ q[32g .. 32g + 31]. */
void sum_groups32_i8_ref(const int8_t* q, int64_t groups, int32_t* out);

// convert.cpp (load-time conversions)
/** One row of ggml's quantize_row_q8_0_ref (K % 32 == 0) as Q8_0 blocks in the file layout: per block
 *  amax = max |x| (NaNs skipped), d = amax / 127, id = d ≠ 0 ? 1 / d : 0, f16 d, then round(x · id)
 *  (halves away from zero) as int8. NaN values give unspecified codes. */
void encode_q8_0_row_ref(const float* x, int64_t K, uint8_t* out);
/** F16 values (little-endian bytes) to f32, exactly; a NaN keeps its payload and comes out quiet (as
 *  F16C's vcvtph2ps gives it). */
void f16_row_to_f32_ref(const uint8_t* src, float* out, int64_t n);
/** TQ1_0 blocks rewritten as TQ2_0 blocks (54 → 66 bytes each): the same trits (codes 0..2) in TQ2_0's
 *  element order and the same f16 scale bytes, exactly as @bitnet/models' repackTq1_0AsTq2_0. */
void repack_tq1_0_blocks_ref(const uint8_t* src, int64_t blocks, uint8_t* dst);

// i8r.cpp: the screened output (core/i8r_rows.h)
void matmul_i8r_i8_ref(const I8rMatmulArgs& a, int64_t n0, int64_t n1);
void encode_i8r_row_ref(const float* x, int64_t K, uint8_t* codes, float* scale);
void screen_bounds_i8r_row_ref(const float* w, const uint8_t* codes, float scale, int64_t K, float* out);
/** screenCandidates over V logits a and 2V bounds: the count of ids written (at most capacity), −1 or −2 (api/Kernels.ts). Not threaded. */
int64_t screen_candidates_ref(const float* a, const float* bounds, int64_t V, double c0, double c1, int32_t* ids, int64_t capacity);

// matmul.cpp
void matmul_i2s_i8_ref(const TernaryMatmulArgs& a, int64_t n0, int64_t n1);
void matmul_tq2_0_q8k_ref(const TernaryMatmulArgs& a, int64_t n0, int64_t n1);
void matmul_tq1_0_q8k_ref(const TernaryMatmulArgs& a, int64_t n0, int64_t n1);
void matmul_q8_0_q8_0_ref(const Q8_0MatmulArgs& a, int64_t n0, int64_t n1);
extern const FloatMatmulFn matmul_f32_ref;
void matmul_f16_ref(const FloatMatmulArgs& a, int64_t n0, int64_t n1);
extern const FloatMatmulFn matmul_bf16_ref;
extern const FloatMatmulFn matmul_q8_0_f32_ref;
extern const FloatMatmulFn matmul_q4_k_f32_ref;
extern const FloatMatmulFn matmul_q6_k_f32_ref;

// elementwise.cpp
/** The reference RMS norm's f32 mean square: (float)(Σ (double)(x_i·x_i) / n), the sum in element order. */
float rms_norm_mean_ref(const float* x, int64_t n);
/** The RMS norm's f32 scale from its mean square: 1 / sqrt(mean + eps) in f32. */
float rms_norm_scale(float mean, float eps);
void rms_norm_row_ref(const float* x, int64_t n, const float* w, float eps, float* out);
void rms_norm_rows4_ref(const float* x, int64_t n, const float* w, float eps, float* out);
void rope_neox_token_ref(float* x, int64_t heads, int64_t headDim, int64_t ropeDim, int32_t pos, double freqBase);
void softmax_row_ref(float* x, int64_t n);

// sampling.cpp
/** KernelTable::weigh_logits, one element at a time (core/exp_weight.h). */
void weigh_logits_ref(const float* l, int64_t n, double max, double temperature, double band_scale, int bands, double* weights, uint8_t* band);
/** KernelTable::argmax, the loop itself; from `best` (an index below `from`) on over [from, n). */
int64_t argmax_from_ref(const float* x, int64_t n, int64_t best, int64_t from);
int64_t argmax_ref(const float* x, int64_t n);
/** The end of a SIMD argmax: `at[l]` the first index of lane l's largest value (−1: none above −∞) over
 *  [0, from); the lanes combined (the largest value, the lowest index among equals), then the loop on
 *  over [from, n). */
int64_t argmax_finish(const float* x, int64_t n, const int32_t* at, int lanes, int64_t from);
/** KernelTable::sum_exp, one element at a time into the eight lanes. */
double sum_exp_ref(const float* x, int64_t n, double max);
/** The end of a sum_exp: elements [from, n) added into `lanes` (from a multiple of 8), then the lanes combined. */
double sum_exp_finish(double* lanes, const float* x, int64_t from, int64_t n, double max);
void relu_sqr_mul_ref(const float* gate, const float* up, float* out, int64_t n);
void silu_mul_ref(const float* gate, const float* up, float* out, int64_t n);
void add_ref(const float* a, const float* b, float* out, int64_t n);
void scale_ref(const float* x, float s, float* out, int64_t n);
void to_f16_ref(const float* x, uint16_t* out, int64_t n);
uint64_t stream_read_ref(const uint8_t* p, size_t n);
uint64_t int8_peak_ref(uint64_t rounds, int64_t* checksum);  // peak.cpp

// attention.cpp
/** One (token t, head h) of llama.cpp's non-flash attention; scores: startPos + t + 1 floats. */
void attention_head_ref(const AttentionArgs& a, int64_t t, int64_t h, float* scores);
void attention_group_ref(const AttentionArgs& a, int64_t t0, int64_t t1, int64_t kvh, float* scratch);

}  // namespace ref
}  // namespace bitnet
