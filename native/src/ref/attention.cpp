// Reference attention: llama.cpp's non-flash path, one (token, head) at a time.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../core/ggml_math.h"
#include "../core/kernel_table.h"
#include "../core/scalar.h"
#include "ref.h"

namespace bitnet {
namespace ref {

/** tinyBLAS's dot (llamafile sgemm, AVX2 F16): 8 FMA lanes (i mod 8), then ggml_hsum8. */
static inline float tiny_dot(const float* a, const float* b, int64_t n) {
  float acc[8] = {0};
  for (int64_t i = 0; i < n; ++i) acc[i & 7] = std::fmaf(a[i], b[i], acc[i & 7]);
  return ggml_hsum8(acc);
}

/**
 * One (token, head) of llama.cpp's non-flash attention: KQ = mul_mat(K, f16(q)), soft_max_ext(scale,
 * causal mask), KQV = mul_mat(Vᵀ, f16(P)). A call with ≥ 2 tokens is a batch: llama.cpp runs both
 * matmuls through llamafile's tinyBLAS (KQ when headDim % 8 == 0, KQV when headDim % 4 == 0); one
 * token runs ggml_vec_dot_f16. KQV sums over positions as if padded with zero weights to n_kv (a
 * multiple of 256 in llama.cpp: no scalar tail), lane = position mod 32 (vec_dot) or mod 8 (tinyBLAS).
 */
void attention_head_ref(const AttentionArgs& a, int64_t t, int64_t h, float* scores) {
  const int64_t D = a.headDim;
  const int64_t kvh = h / (a.heads / a.kvHeads);
  const int64_t visible = a.startPos + t + 1;
  const int64_t bt = a.blockTokens;  // positions [p0, p0 + bt) of block j = p0 / bt; one block when contiguous
  const bool qk_tiny = a.batch() && D % 8 == 0;
  const bool pv_tiny = a.batch() && D % 4 == 0;
  const float* q = a.q + (t * a.heads + h) * D;
  float* out = a.out + (t * a.heads + h) * D;
  std::vector<float> qr((size_t)D), kr((size_t)D);
  for (int64_t d = 0; d < D; ++d) qr[(size_t)d] = f16_round(q[d]);
  for (int64_t j = 0, p0 = 0; p0 < visible; ++j, p0 += bt) {
    const uint16_t* kb = a.k + a.kv_offset(j, kvh);
    const int64_t n = std::min(bt, visible - p0);
    for (int64_t i = 0; i < n; ++i) {
      const uint16_t* k = kb + i * D;
      for (int64_t d = 0; d < D; ++d) kr[(size_t)d] = f16_to_f32(k[d]);
      const float s = qk_tiny ? tiny_dot(qr.data(), kr.data(), D) : ggml_dot_f16(qr.data(), kr.data(), D);
      scores[p0 + i] = s * a.scale;
    }
  }
  softmax_row_ref(scores, visible);
  for (int64_t p = 0; p < visible; ++p) scores[p] = f16_round(scores[p]);
  for (int64_t d = 0; d < D; ++d) {
    // The lanes (position mod 8 or 32) carry across blocks: the sum is the one over all positions.
    float acc[32] = {0};
    for (int64_t j = 0, p0 = 0; p0 < visible; ++j, p0 += bt) {
      const uint16_t* v = a.v + a.kv_offset(j, kvh) + d * bt;
      const int64_t n = std::min(bt, visible - p0);
      if (pv_tiny) {
        for (int64_t i = 0, p = p0; i < n; ++i, ++p) acc[p & 7] = std::fmaf(scores[p], f16_to_f32(v[i]), acc[p & 7]);
      } else {
        for (int64_t i = 0, p = p0; i < n; ++i, ++p) acc[p & 31] = std::fmaf(scores[p], f16_to_f32(v[i]), acc[p & 31]);
      }
    }
    out[d] = pv_tiny ? ggml_hsum8(acc) : ggml_reduce_f16_acc(acc);
  }
}

/** Tokens [t0, t1) × the query heads of kv head kvh, one attention_head_ref at a time. */
void attention_group_ref(const AttentionArgs& a, int64_t t0, int64_t t1, int64_t kvh, float* scratch) {
  const int64_t G = a.heads / a.kvHeads;
  for (int64_t t = t0; t < t1; ++t)
    for (int64_t g = 0; g < G; ++g) attention_head_ref(a, t, kvh * G + g, scratch);
}


}  // namespace ref
}  // namespace bitnet
