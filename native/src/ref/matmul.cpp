// Reference matmuls: ternary and Q8_0 weights × quantized activations (exact integer lanes, ggml's
// float epilogues), and float / k-quant weights × f32 activations.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../core/dequant_rows.h"
#include "../core/ggml_math.h"
#include "../core/kernel_table.h"
#include "../core/scalar.h"
#include "ref.h"

namespace bitnet {
namespace ref {

// ---- ternary dot products (exact integers) ---------------------------------------------------------

/** Σ_k code[k]·q[k] over one I2_S row (codes 0..3 as stored). */
static int32_t vec_dot_i2s_i8_ref(int64_t K, const uint8_t* w, const int8_t* q) {
  int32_t acc = 0;
  for (int64_t b = 0; b < K / QK_I2S; ++b) {
    const uint8_t* wb = w + b * 32;
    const int8_t* qb = q + b * QK_I2S;
    for (int g = 0; g < 4; ++g) {
      const int shift = 6 - 2 * g;
      for (int j = 0; j < 32; ++j) acc += ((wb[j] >> shift) & 3) * qb[32 * g + j];
    }
  }
  return acc;
}

// ---- TQ2_0 / TQ1_0 × Q8_K: ggml_vec_dot_tq*_q8_K (AVX2) ------------------------------------------
// Per 256-block, 8 integer lanes: lane k = Σ q_e·a_e over the block's elements e with (e mod 32) >> 2
// == k (q the stored code, 0..3) minus Σ a over elements 32k .. 32k+31 (a.sum: the group sums). Each
// lane becomes f32 and is accumulated across blocks with fmaf(lane, d_b, acc_k), d_b = fround(da_b·dw_b);
// the row's value is ggml_hsum8(acc).

/** TQ2_0 row · Q8_K row. gsum: the row's group sums (8 per block). */
static float vec_dot_tq2_0_q8k_ref(int64_t K, const uint8_t* w, const int8_t* q, const float* da, const int32_t* gsum) {
  float acc[8] = {0};
  for (int64_t b = 0; b < K / QK_K; ++b) {
    const uint8_t* wb = w + b * TQ2_0_BYTES;
    const int8_t* qb = q + b * QK_K;
    int32_t lanes[8] = {0};
    for (int c = 0; c < 2; ++c)
      for (int n = 0; n < 4; ++n)
        for (int j = 0; j < 32; ++j) lanes[j >> 2] += ((wb[32 * c + j] >> (2 * n)) & 3) * qb[128 * c + 32 * n + j];
    tq_lane_epilogue(acc, lanes, gsum + 8 * b, f16_to_f32(load_u16(wb + 64)), da[b]);
  }
  return ggml_hsum8(acc);
}

static float vec_dot_tq1_0_q8k_ref(int64_t K, const uint8_t* w, const int8_t* q, const float* da, const int32_t* gsum) {
  float acc[8] = {0};
  for (int64_t b = 0; b < K / QK_K; ++b) {
    const uint8_t* wb = w + b * TQ1_0_BYTES;
    const int8_t* qb = q + b * QK_K;
    int32_t lanes[8] = {0};
    for (int m = 0; m < 32; ++m)
      for (int n = 0; n < 5; ++n) lanes[m >> 2] += tq1_trit(wb[m], n) * qb[32 * n + m];
    for (int m = 0; m < 16; ++m)
      for (int n = 0; n < 5; ++n) lanes[((16 * n + m) & 31) >> 2] += tq1_trit(wb[32 + m], n) * qb[160 + 16 * n + m];
    for (int j = 0; j < 4; ++j)
      for (int n = 0; n < 4; ++n) lanes[4 + n] += tq1_trit(wb[48 + j], n) * qb[240 + 4 * n + j];
    tq_lane_epilogue(acc, lanes, gsum + 8 * b, f16_to_f32(load_u16(wb + 52)), da[b]);
  }
  return ggml_hsum8(acc);
}

void matmul_i2s_i8_ref(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t* w = a.w + n * a.row_bytes;
    for (int64_t m = 0; m < a.M; ++m) {
      const int32_t dot = vec_dot_i2s_i8_ref(a.K, w, a.q + m * a.K);
      a.out[m * a.N + n] = i2s_epilogue(dot, a.sum[m], a.scale[m], a.wscale);
    }
  }
}

void matmul_tq2_0_q8k_ref(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  const int64_t nb = a.K / QK_K;
  for (int64_t n = n0; n < n1; ++n)
    for (int64_t m = 0; m < a.M; ++m)
      a.out[m * a.N + n] = vec_dot_tq2_0_q8k_ref(a.K, a.w + n * a.row_bytes, a.q + m * a.K, a.scale + m * nb, a.sum + m * nb * 8);
}

void matmul_tq1_0_q8k_ref(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  const int64_t nb = a.K / QK_K;
  for (int64_t n = n0; n < n1; ++n)
    for (int64_t m = 0; m < a.M; ++m)
      a.out[m * a.N + n] = vec_dot_tq1_0_q8k_ref(a.K, a.w + n * a.row_bytes, a.q + m * a.K, a.scale + m * nb, a.sum + m * nb * 8);
}

// ---- Q8_0 × Q8_0: ggml_vec_dot_q8_0_q8_0 (AVX2) ------------------------------------------------------
// Per 32-block, 8 exact integer lanes: lane k = Σ qw·qa over elements 4k .. 4k+3. Each lane becomes f32
// and is accumulated across blocks with fmaf(lane, d_b, acc_k), d_b = fround(dw_b·da_b); then ggml_hsum8.

static float vec_dot_q8_0_q8_0_ref(int64_t K, const uint8_t* w, const int8_t* q, const float* da) {
  float acc[8] = {0};
  for (int64_t b = 0; b < K / QK8_0; ++b) {
    const uint8_t* wb = w + b * Q8_0_BYTES;
    const int8_t* qb = q + b * QK8_0;
    const float d = f16_to_f32(load_u16(wb)) * da[b];
    for (int k = 0; k < 8; ++k) {
      int32_t lane = 0;
      for (int j = 4 * k; j < 4 * k + 4; ++j) lane += (int32_t)(int8_t)wb[2 + j] * qb[j];
      acc[k] = std::fmaf((float)lane, d, acc[k]);
    }
  }
  return ggml_hsum8(acc);
}

void matmul_q8_0_q8_0_ref(const Q8_0MatmulArgs& a, int64_t n0, int64_t n1) {
  const int64_t nb = a.K / QK8_0;
  for (int64_t n = n0; n < n1; ++n)
    for (int64_t m = 0; m < a.M; ++m)
      a.out[m * a.N + n] = vec_dot_q8_0_q8_0_ref(a.K, a.w + n * a.row_bytes, a.q + m * a.K, a.d + m * nb);
}

// ---- float matmuls: dequantize a weight row, f32 dot with each activation row -----------------------

static inline float dot_f32_ref(const float* a, const float* b, int64_t n) {
  float s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

template <DequantRowFn DEQ>
static void matmul_float_ref(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  float* row = new float[(size_t)a.K];
  for (int64_t n = n0; n < n1; ++n) {
    DEQ(a.w + n * a.row_bytes, row, a.K, 0.0f);
    for (int64_t m = 0; m < a.M; ++m) a.out[m * a.N + n] = dot_f32_ref(row, a.x + m * a.K, a.K);
  }
  delete[] row;
}

/** F16 weights: ggml_vec_dot_f16's arithmetic (ggml_dot_f16) on the dequantized row and x as given. */
void matmul_f16_ref(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  float* row = new float[(size_t)a.K];
  for (int64_t n = n0; n < n1; ++n) {
    dequant_row_f16(a.w + n * a.row_bytes, row, a.K, 0.0f);
    for (int64_t m = 0; m < a.M; ++m) a.out[m * a.N + n] = ggml_dot_f16(row, a.x + m * a.K, a.K);
  }
  delete[] row;
}


// The table entries are the template instances themselves (pointers, not wrappers calling them): the
// compiler then builds each instance as one function, as it did when the table named them directly;
// a wrapper let it inline the whole loop, measured a few percent slower for Q6_K.
extern const FloatMatmulFn matmul_f32_ref = matmul_float_ref<dequant_row_f32>;
extern const FloatMatmulFn matmul_bf16_ref = matmul_float_ref<dequant_row_bf16>;
extern const FloatMatmulFn matmul_q8_0_f32_ref = matmul_float_ref<dequant_row_q8_0>;
extern const FloatMatmulFn matmul_q4_k_f32_ref = matmul_float_ref<dequant_row_q4_k>;
extern const FloatMatmulFn matmul_q6_k_f32_ref = matmul_float_ref<dequant_row_q6_k>;

}  // namespace ref
}  // namespace bitnet
