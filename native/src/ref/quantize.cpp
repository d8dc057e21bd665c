// Reference activation quantizers (bitnet.cpp's I8 per token, llama.cpp's Q8_K and Q8_0).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../core/ggml_math.h"
#include "../core/kernel_table.h"
#include "../core/scalar.h"
#include "ref.h"

namespace bitnet {
namespace ref {

// ---- activation quantization -----------------------------------------------------------------

/** bitnet.cpp's quantize_row_i8_s: s = fround(127 / max(1e-5, max|x|)) (max exact, division in
 *  double), q = clamp(nearest_int(fround(x·s)), −128, 127), sum = Σq. */
void quantize_i8_row_ref(const float* x, int64_t K, int8_t* q, float* scale, int32_t* sum) {
  double mx = 0.00001;
  for (int64_t i = 0; i < K; ++i) {
    const double a = std::fabs((double)x[i]);
    if (a > mx) mx = a;
  }
  const float s = (float)(127.0 / mx);
  int32_t acc = 0;
  for (int64_t i = 0; i < K; ++i) {
    int v = nearest_int(x[i] * s);
    if (v > 127) v = 127;
    if (v < -128) v = -128;
    q[i] = (int8_t)v;
    acc += v;
  }
  *scale = s;
  *sum = acc;
}

/** llama.cpp's quantize_row_q8_K_ref, per 256-block; bsums zeroed for an all-zero block. */
void quantize_q8k_row_ref(const float* x, int64_t K, int8_t* q, float* d, int16_t* bsums) {
  for (int64_t b = 0; b < K / QK_K; ++b) {
    const float* xb = x + b * QK_K;
    int8_t* qb = q + b * QK_K;
    float amax = 0, mx = 0;
    for (int j = 0; j < QK_K; ++j) {
      const float ax = std::fabs(xb[j]);
      if (ax > amax) {
        amax = ax;
        mx = xb[j];
      }
    }
    if (amax == 0) {
      d[b] = 0;
      std::memset(qb, 0, QK_K);
      for (int j = 0; j < QK_K / 16; ++j) bsums[b * 16 + j] = 0;
      continue;
    }
    const float iscale = -127.f / mx;
    for (int j = 0; j < QK_K; ++j) {
      const int v = nearest_int(iscale * xb[j]);
      qb[j] = (int8_t)(v < 127 ? v : 127);
    }
    for (int j = 0; j < QK_K / 16; ++j) {
      int s = 0;
      for (int i = 0; i < 16; ++i) s += qb[j * 16 + i];
      bsums[b * 16 + j] = (int16_t)s;
    }
    d[b] = 1 / iscale;
  }
}

/** llama.cpp's x86 quantize_row_q8_0, per 32-block: d = f16(amax / 127), id = 127 / amax (0 for a
 *  zero block), q = nearest_int(x·id) (in [−127, 127] for finite x). */
void quantize_q8_0_row_ref(const float* x, int64_t K, int8_t* q, float* d) {
  for (int64_t b = 0; b < K / QK8_0; ++b) {
    const float* xb = x + b * QK8_0;
    float amax = 0;
    for (int j = 0; j < QK8_0; ++j) {
      const float ax = std::fabs(xb[j]);
      if (ax > amax) amax = ax;
    }
    d[b] = f16_round(amax / 127.f);
    const float id = amax > 0 ? 127.f / amax : 0.0f;
    for (int j = 0; j < QK8_0; ++j) q[b * QK8_0 + j] = (int8_t)nearest_int(xb[j] * id);
  }
}

void sum_groups32_i8_ref(const int8_t* q, int64_t groups, int32_t* out) {
  for (int64_t g = 0; g < groups; ++g) {
    int32_t s = 0;
    for (int j = 0; j < 32; ++j) s += q[g * 32 + j];
    out[g] = s;
  }
}

}  // namespace ref
}  // namespace bitnet
