// Reference normalization, RoPE, softmax and element-wise kernels, and the bandwidth probe's plain reader.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../core/ggml_math.h"
#include "../core/kernel_table.h"
#include "../core/scalar.h"
#include "ref.h"

namespace bitnet {
namespace ref {

// ---- elementwise / normalization / attention ----------------------------------------------------------

float rms_norm_mean_ref(const float* x, int64_t n) {
  // As ggml_compute_forward_rms_norm_f32: f32 squares summed in double, in element order.
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += (double)(x[i] * x[i]);
  return (float)(ss / (double)n);
}

float rms_norm_scale(float mean, float eps) { return 1.0f / std::sqrt(mean + eps); }

void rms_norm_row_ref(const float* x, int64_t n, const float* w, float eps, float* out) {
  const float scale = rms_norm_scale(rms_norm_mean_ref(x, n), eps);
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * scale * w[i];
}

void rms_norm_rows4_ref(const float* x, int64_t n, const float* w, float eps, float* out) {
  for (int r = 0; r < 4; ++r) rms_norm_row_ref(x + r * n, n, w, eps, out + r * n);
}

void rope_neox_token_ref(float* x, int64_t heads, int64_t headDim, int64_t ropeDim, int32_t pos, double freqBase) {
  // ggml_compute_forward_rope_flt (NEOX) as compiled for x86: θ_0 = p, θ_{i+1} = θ_i · s in f32 with
  // s = powf(base, −2/ropeDim); cos/sin from libm's sincosf (what ggml calls); each rotated value is one
  // FMA of GCC's contraction: x0·c − x1·s = fmaf(x0, c, −(x1·s)), x0·s + x1·c = fmaf(x0, s, x1·c).
  const int64_t half = ropeDim / 2;
  const float scale = powf((float)freqBase, -2.0f / (float)ropeDim);
  float theta = (float)pos;
  for (int64_t i = 0; i < half; ++i) {
    float s, c;
    sincosf(theta, &s, &c);
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + h * headDim;
      const float x0 = v[i], x1 = v[i + half];
      v[i] = std::fmaf(x0, c, -(x1 * s));
      v[i + half] = std::fmaf(x0, s, x1 * c);
    }
    theta = theta * scale;
  }
}

/** ggml_vec_soft_max_f32 (AVX2) + the normalisation of ggml_compute_forward_soft_max_f32, in place:
 *  e_i = v_expf(x_i − max); Σ in double of ggml_hsum8 of each group of 8 (missing lanes are 0, as
 *  −∞-masked or padded positions are in llama.cpp); x_i = e_i · fround(1 / Σ). */
void softmax_row_ref(float* x, int64_t n) {
  if (n <= 0) return;
  float mx = -INFINITY;
  for (int64_t i = 0; i < n; ++i)
    if (x[i] > mx) mx = x[i];
  double sum = 0;
  for (int64_t c = 0; c < n; c += 8) {
    float e[8];
    for (int l = 0; l < 8; ++l) {
      if (c + l < n) {
        e[l] = ggml_v_expf1(x[c + l] - mx);
        x[c + l] = e[l];
      } else {
        e[l] = 0.0f;
      }
    }
    sum += (double)ggml_hsum8(e);
  }
  const float inv = (float)(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void relu_sqr_mul_ref(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i] > 0 ? gate[i] : 0.0f;
    out[i] = g * g * up[i];
  }
}

void silu_mul_ref(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    out[i] = ggml_v_silu1(gate[i]) * up[i];  // ggml_vec_swiglu_f32 (AVX2)
  }
}

void add_ref(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void scale_ref(const float* x, float s, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * s;
}

void to_f16_ref(const float* x, uint16_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = f32_to_f16(x[i]);
}

uint64_t stream_read_ref(const uint8_t* p, size_t n) {
  uint64_t acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (size_t i = 0; i < n; i += 64) {
    uint64_t v[8];
    std::memcpy(v, p + i, 64);
    for (int j = 0; j < 8; ++j) acc[j] ^= v[j];
  }
  return acc[0] ^ acc[1] ^ acc[2] ^ acc[3] ^ acc[4] ^ acc[5] ^ acc[6] ^ acc[7];
}


}  // namespace ref
}  // namespace bitnet
