// AVX2 element-wise kernels, RoPE and softmax (ggml's AVX2 arithmetic, 8 lanes at a time), and the
// bandwidth probe's 256-bit reader.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "../../core/ggml_math.h"
#include "../../core/kernel_table.h"
#include "../../core/scalar.h"
#include "../../ref/ref.h"
#include "kernels.h"
#include "simd.h"

namespace bitnet {
namespace avx2 {

// ---- element-wise: ggml's AVX2 arithmetic, 8 lanes at a time -------------------------------------------

/** ggml_v_expf on 8 lanes. A vector with any lane outside the fast range (|n| > 126) goes through the
 *  one-lane function, which gives every lane the same value the vector code does (lanes are independent). */
static inline __m256 v_expf8(__m256 x) {
  const __m256 r = _mm256_set1_ps(0x1.8p23f);
  const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
  const __m256 n = _mm256_sub_ps(z, r);
  const __m256 big = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), n), _mm256_set1_ps(126.0f), _CMP_GT_OQ);
  if (_mm256_movemask_ps(big)) {
    alignas(32) float v[8];
    _mm256_store_ps(v, x);
    for (int l = 0; l < 8; ++l) v[l] = ggml_v_expf1(v[l]);
    return _mm256_load_ps(v);
  }
  const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f), _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
  const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
  const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1.0f))));
  const __m256 u = _mm256_mul_ps(b, b);
  const __m256 j = _mm256_fmadd_ps(
      _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                      _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
      u, _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));
  return _mm256_fmadd_ps(j, k, k);
}

/** rope_neox_token_ref with the rotation 8 dimensions at a time: the same angles (f32 θ chain, libm
 *  sincosf), the same two roundings per value — fmaf(x0, c, −(x1·s)) and fmaf(x0, s, x1·c). */
void rope_neox_token(float* x, int64_t heads, int64_t headDim, int64_t ropeDim, int32_t pos, double freqBase) {
  const int64_t half = ropeDim / 2;
  constexpr int64_t kMaxHalf = 512;
  if (half > kMaxHalf) {
    ref::rope_neox_token_ref(x, heads, headDim, ropeDim, pos, freqBase);
    return;
  }
  alignas(32) float cs[kMaxHalf], sn[kMaxHalf];
  const float scale = powf((float)freqBase, -2.0f / (float)ropeDim);
  float theta = (float)pos;
  for (int64_t i = 0; i < half; ++i) {
    sincosf(theta, &sn[i], &cs[i]);
    theta = theta * scale;
  }
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t h = 0; h < heads; ++h) {
    float* v = x + h * headDim;
    int64_t i = 0;
    for (; i + 8 <= half; i += 8) {
      const __m256 x0 = _mm256_loadu_ps(v + i), x1 = _mm256_loadu_ps(v + i + half);
      const __m256 c = _mm256_load_ps(cs + i), s = _mm256_load_ps(sn + i);
      _mm256_storeu_ps(v + i, _mm256_fmadd_ps(x0, c, _mm256_xor_ps(_mm256_mul_ps(x1, s), sign)));
      _mm256_storeu_ps(v + i + half, _mm256_fmadd_ps(x0, s, _mm256_mul_ps(x1, c)));
    }
    for (; i < half; ++i) {
      const float x0 = v[i], x1 = v[i + half];
      v[i] = std::fmaf(x0, cs[i], -(x1 * sn[i]));
      v[i + half] = std::fmaf(x0, sn[i], x1 * cs[i]);
    }
  }
}

void add(const float* a, const float* b, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
  ref::add_ref(a + i, b + i, out + i, n - i);
}

/** silu_mul_ref 8 lanes at a time: x / (1 + v_expf(0 − x)) · up. */
void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(gate + i);
    const __m256 s = _mm256_div_ps(x, _mm256_add_ps(one, v_expf8(_mm256_sub_ps(zero, x))));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(s, _mm256_loadu_ps(up + i)));
  }
  ref::silu_mul_ref(gate + i, up + i, out + i, n - i);
}

/** relu_sqr_mul_ref without its branch: max(g, +0) (a NaN or −0 gate gives +0, as `g > 0 ? g : 0`), squared, times up. */
void relu_sqr_mul(const float* gate, const float* up, float* out, int64_t n) {
  const __m256 zero = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_max_ps(_mm256_loadu_ps(gate + i), zero);
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(g, g), _mm256_loadu_ps(up + i)));
  }
  ref::relu_sqr_mul_ref(gate + i, up + i, out + i, n - i);
}

void scale(const float* x, float s, float* out, int64_t n) {
  const __m256 f = _mm256_set1_ps(s);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), f));
  ref::scale_ref(x + i, s, out + i, n - i);
}

/** F16C's round-to-nearest-even conversion, the same as f32_to_f16 for every non-NaN input. */
void to_f16(const float* x, uint16_t* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128((__m128i*)(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  ref::to_f16_ref(x + i, out + i, n - i);
}

/** softmax_row_ref vectorized: the same max (NaNs skipped), the same 8-lane groups summed in a double. */
void softmax_row(float* x, int64_t n) {
  if (n <= 0) return;
  const int64_t n8 = n & ~(int64_t)7;
  __m256 vmx = _mm256_set1_ps(-INFINITY);
  for (int64_t i = 0; i < n8; i += 8) vmx = _mm256_max_ps(_mm256_loadu_ps(x + i), vmx);  // a NaN x keeps vmx
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, vmx);
  float mx = -INFINITY;
  for (int l = 0; l < 8; ++l)
    if (lanes[l] > mx) mx = lanes[l];
  for (int64_t i = n8; i < n; ++i)
    if (x[i] > mx) mx = x[i];
  const __m256 vm = _mm256_set1_ps(mx);
  double sum = 0;
  for (int64_t c = 0; c < n8; c += 8) {
    const __m256 e = v_expf8(_mm256_sub_ps(_mm256_loadu_ps(x + c), vm));
    _mm256_storeu_ps(x + c, e);
    sum += (double)hsum_f32(e);
  }
  if (n8 < n) {
    float e[8] = {0};
    for (int64_t i = n8; i < n; ++i) x[i] = e[i - n8] = ggml_v_expf1(x[i] - mx);
    sum += (double)ggml_hsum8(e);
  }
  const __m256 inv = _mm256_set1_ps((float)(1.0 / sum));
  for (int64_t i = 0; i < n8; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
  const float inv1 = (float)(1.0 / sum);
  for (int64_t i = n8; i < n; ++i) x[i] *= inv1;
}

// ---- bandwidth probe -----------------------------------------------------------------------------------

uint64_t stream_read(const uint8_t* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 128 <= n; i += 128) {
    a0 = _mm256_xor_si256(a0, _mm256_load_si256((const __m256i*)(p + i)));
    a1 = _mm256_xor_si256(a1, _mm256_load_si256((const __m256i*)(p + i + 32)));
    a2 = _mm256_xor_si256(a2, _mm256_load_si256((const __m256i*)(p + i + 64)));
    a3 = _mm256_xor_si256(a3, _mm256_load_si256((const __m256i*)(p + i + 96)));
  }
  const __m256i x = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
  return (uint64_t)_mm256_extract_epi64(x, 0) ^ (uint64_t)_mm256_extract_epi64(x, 1) ^ (uint64_t)_mm256_extract_epi64(x, 2) ^
         (uint64_t)_mm256_extract_epi64(x, 3);
}

}  // namespace avx2
}  // namespace bitnet
