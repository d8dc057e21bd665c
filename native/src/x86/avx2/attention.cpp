// AVX2 attention: the reference's arithmetic (llama.cpp's non-flash path), vectorized.
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

// ---- attention: attention_head_ref's arithmetic (llama.cpp's non-flash path), vectorized --------------

/** 8 rows of 8 floats → their transpose (y_j[r] = x_r[j]). */
static inline void transpose8(__m256* x) {
  const __m256 t0 = _mm256_unpacklo_ps(x[0], x[1]), t1 = _mm256_unpackhi_ps(x[0], x[1]);
  const __m256 t2 = _mm256_unpacklo_ps(x[2], x[3]), t3 = _mm256_unpackhi_ps(x[2], x[3]);
  const __m256 t4 = _mm256_unpacklo_ps(x[4], x[5]), t5 = _mm256_unpackhi_ps(x[4], x[5]);
  const __m256 t6 = _mm256_unpacklo_ps(x[6], x[7]), t7 = _mm256_unpackhi_ps(x[6], x[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  x[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  x[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  x[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  x[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  x[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  x[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  x[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  x[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/** Lanes [0, n) of p, the rest 0 (n in 0..8). */
static inline __m256 load_first(const float* p, int64_t n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), idx);
  return _mm256_maskload_ps(p, mask);
}

/**
 * Block attention: tokens [t0, t1) × the heads/kvHeads query heads that read kv head `kvh`, with
 * attention_head_ref's arithmetic for every (token, head). The group's keys and values up to the
 * last token's position are converted from f16 once for all its rows: keys as f32 rows, values
 * transposed (one row of positions per dimension), so that the p·V sums run along positions with
 * contiguous loads and one independent FMA chain per output dimension. Score dot products run for
 * several positions at once (independent chains; one chain per dot is FMA-latency bound).
 * Scratch: attention_scratch_floats(a, t1 − t0) floats, 32-byte aligned.
 */
void attention_group(const AttentionArgs& a, int64_t t0, int64_t t1, int64_t kvh, float* scratch) {
  const int64_t D = a.headDim;
  const int64_t G = a.heads / a.kvHeads;
  if (D % 32 != 0 || D > 256) {
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t g = 0; g < G; ++g) ref::attention_head_ref(a, t, kvh * G + g, scratch);
    return;
  }
  const int64_t stride = a.kvHeads * D;
  const int64_t vis = a.startPos + t1;    // positions the block's last token sees
  const int64_t vp = (vis + 31) & ~31;    // padded to whole 32-position chunks
  const bool batch = a.tokens >= 2;       // tinyBLAS (8 lanes) for both matmuls, else ggml_vec_dot_f16 (32 lanes)
  float* kf = scratch;                    // [vis][D]
  float* vt = kf + vis * D;               // [D][vp], zero past vis
  float* sc = vt + D * vp;                // [vp]
  alignas(32) float qr[256];
  const uint16_t* kbase = a.k + kvh * D;
  const uint16_t* vbase = a.v + kvh * D;
  for (int64_t p = 0; p < vis; ++p)
    for (int64_t d = 0; d < D; d += 8) _mm256_store_ps(kf + p * D + d, _mm256_cvtph_ps(load128(kbase + p * stride + d)));
  for (int64_t p = 0; p < vp; p += 8) {
    for (int64_t d = 0; d < D; d += 8) {
      __m256 x[8];
      for (int r = 0; r < 8; ++r) x[r] = p + r < vis ? _mm256_cvtph_ps(load128(vbase + (p + r) * stride + d)) : _mm256_setzero_ps();
      transpose8(x);
      for (int j = 0; j < 8; ++j) _mm256_store_ps(vt + (d + j) * vp + p, x[j]);
    }
  }
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t visible = a.startPos + t + 1;
    for (int64_t g = 0; g < G; ++g) {
      const int64_t h = kvh * G + g;
      const float* q = a.q + (t * a.heads + h) * D;
      float* out = a.out + (t * a.heads + h) * D;
      for (int64_t d = 0; d < D; d += 8)
        _mm256_store_ps(qr + d, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(q + d), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
      // KQ
      int64_t p = 0;
      if (batch) {
        for (; p + 4 <= visible; p += 4) {
          const float* k0 = kf + p * D;
          __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
          for (int64_t d = 0; d < D; d += 8) {
            const __m256 qv = _mm256_load_ps(qr + d);
            c0 = _mm256_fmadd_ps(qv, _mm256_load_ps(k0 + d), c0);
            c1 = _mm256_fmadd_ps(qv, _mm256_load_ps(k0 + D + d), c1);
            c2 = _mm256_fmadd_ps(qv, _mm256_load_ps(k0 + 2 * D + d), c2);
            c3 = _mm256_fmadd_ps(qv, _mm256_load_ps(k0 + 3 * D + d), c3);
          }
          sc[p] = hsum_f32(c0) * a.scale;
          sc[p + 1] = hsum_f32(c1) * a.scale;
          sc[p + 2] = hsum_f32(c2) * a.scale;
          sc[p + 3] = hsum_f32(c3) * a.scale;
        }
        for (; p < visible; ++p) {
          __m256 c = _mm256_setzero_ps();
          for (int64_t d = 0; d < D; d += 8) c = _mm256_fmadd_ps(_mm256_load_ps(qr + d), _mm256_load_ps(kf + p * D + d), c);
          sc[p] = hsum_f32(c) * a.scale;
        }
      } else {
        for (; p + 2 <= visible; p += 2) {
          const float* k0 = kf + p * D;
          const float* k1 = k0 + D;
          __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, u0 = s0, u1 = s0, u2 = s0, u3 = s0;
          for (int64_t d = 0; d < D; d += 32) {
            const __m256 q0 = _mm256_load_ps(qr + d), q1 = _mm256_load_ps(qr + d + 8), q2 = _mm256_load_ps(qr + d + 16), q3 = _mm256_load_ps(qr + d + 24);
            s0 = _mm256_fmadd_ps(q0, _mm256_load_ps(k0 + d), s0);
            s1 = _mm256_fmadd_ps(q1, _mm256_load_ps(k0 + d + 8), s1);
            s2 = _mm256_fmadd_ps(q2, _mm256_load_ps(k0 + d + 16), s2);
            s3 = _mm256_fmadd_ps(q3, _mm256_load_ps(k0 + d + 24), s3);
            u0 = _mm256_fmadd_ps(q0, _mm256_load_ps(k1 + d), u0);
            u1 = _mm256_fmadd_ps(q1, _mm256_load_ps(k1 + d + 8), u1);
            u2 = _mm256_fmadd_ps(q2, _mm256_load_ps(k1 + d + 16), u2);
            u3 = _mm256_fmadd_ps(q3, _mm256_load_ps(k1 + d + 24), u3);
          }
          sc[p] = f16_reduce_ggml(s0, s1, s2, s3) * a.scale;
          sc[p + 1] = f16_reduce_ggml(u0, u1, u2, u3) * a.scale;
        }
        for (; p < visible; ++p) {
          const float* k0 = kf + p * D;
          __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
          for (int64_t d = 0; d < D; d += 32) {
            s0 = _mm256_fmadd_ps(_mm256_load_ps(qr + d), _mm256_load_ps(k0 + d), s0);
            s1 = _mm256_fmadd_ps(_mm256_load_ps(qr + d + 8), _mm256_load_ps(k0 + d + 8), s1);
            s2 = _mm256_fmadd_ps(_mm256_load_ps(qr + d + 16), _mm256_load_ps(k0 + d + 16), s2);
            s3 = _mm256_fmadd_ps(_mm256_load_ps(qr + d + 24), _mm256_load_ps(k0 + d + 24), s3);
          }
          sc[p] = f16_reduce_ggml(s0, s1, s2, s3) * a.scale;
        }
      }
      softmax_row(sc, visible);
      // p·V weights are f16-rounded probabilities; positions past `visible` weigh 0 (and their lanes
      // of vt are masked to 0 below, so a non-finite value there cannot leak in).
      for (p = 0; p + 8 <= visible; p += 8)
        _mm256_store_ps(sc + p, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_load_ps(sc + p), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
      for (; p < visible; ++p) sc[p] = f16_round(sc[p]);
      for (; p < vp; ++p) sc[p] = 0.0f;
      const int64_t full8 = visible & ~(int64_t)7;  // whole 8-position chunks
      const int64_t rest = visible - full8;
      if (batch) {
        // lane = position mod 8: one accumulator per dimension, 8 dimensions at a time
        for (int64_t d = 0; d < D; d += 8) {
          __m256 acc[8];
          for (int j = 0; j < 8; ++j) acc[j] = _mm256_setzero_ps();
          for (p = 0; p < full8; p += 8) {
            const __m256 w = _mm256_load_ps(sc + p);
            for (int j = 0; j < 8; ++j) acc[j] = _mm256_fmadd_ps(w, _mm256_load_ps(vt + (d + j) * vp + p), acc[j]);
          }
          if (rest) {
            const __m256 w = _mm256_load_ps(sc + full8);
            for (int j = 0; j < 8; ++j) acc[j] = _mm256_fmadd_ps(w, load_first(vt + (d + j) * vp + full8, rest), acc[j]);
          }
          for (int j = 0; j < 8; ++j) out[d + j] = hsum_f32(acc[j]);
        }
      } else {
        // lane = position mod 32: four accumulators per dimension, 2 dimensions at a time
        const int64_t full32 = visible & ~(int64_t)31;
        for (int64_t d = 0; d < D; d += 2) {
          const float* v0 = vt + d * vp;
          const float* v1 = v0 + vp;
          __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
          for (p = 0; p < full32; p += 32) {
            const __m256 w0 = _mm256_load_ps(sc + p), w1 = _mm256_load_ps(sc + p + 8), w2 = _mm256_load_ps(sc + p + 16), w3 = _mm256_load_ps(sc + p + 24);
            a0 = _mm256_fmadd_ps(w0, _mm256_load_ps(v0 + p), a0);
            a1 = _mm256_fmadd_ps(w1, _mm256_load_ps(v0 + p + 8), a1);
            a2 = _mm256_fmadd_ps(w2, _mm256_load_ps(v0 + p + 16), a2);
            a3 = _mm256_fmadd_ps(w3, _mm256_load_ps(v0 + p + 24), a3);
            b0 = _mm256_fmadd_ps(w0, _mm256_load_ps(v1 + p), b0);
            b1 = _mm256_fmadd_ps(w1, _mm256_load_ps(v1 + p + 8), b1);
            b2 = _mm256_fmadd_ps(w2, _mm256_load_ps(v1 + p + 16), b2);
            b3 = _mm256_fmadd_ps(w3, _mm256_load_ps(v1 + p + 24), b3);
          }
          if (full32 < visible) {
            // the last partial chunk of 32: lanes past `visible` are masked to 0 (weight 0 · value 0)
            __m256 va[4], vb[4];
            for (int j = 0; j < 4; ++j) {
              const int64_t n = std::min<int64_t>(8, std::max<int64_t>(0, visible - (full32 + 8 * j)));
              va[j] = load_first(v0 + full32 + 8 * j, n);
              vb[j] = load_first(v1 + full32 + 8 * j, n);
            }
            a0 = _mm256_fmadd_ps(_mm256_load_ps(sc + full32), va[0], a0);
            a1 = _mm256_fmadd_ps(_mm256_load_ps(sc + full32 + 8), va[1], a1);
            a2 = _mm256_fmadd_ps(_mm256_load_ps(sc + full32 + 16), va[2], a2);
            a3 = _mm256_fmadd_ps(_mm256_load_ps(sc + full32 + 24), va[3], a3);
            b0 = _mm256_fmadd_ps(_mm256_load_ps(sc + full32), vb[0], b0);
            b1 = _mm256_fmadd_ps(_mm256_load_ps(sc + full32 + 8), vb[1], b1);
            b2 = _mm256_fmadd_ps(_mm256_load_ps(sc + full32 + 16), vb[2], b2);
            b3 = _mm256_fmadd_ps(_mm256_load_ps(sc + full32 + 24), vb[3], b3);
          }
          out[d] = f16_reduce_ggml(a0, a1, a2, a3);
          out[d + 1] = f16_reduce_ggml(b0, b1, b2, b3);
        }
      }
    }
  }
}

}  // namespace avx2
}  // namespace bitnet
