// AVX2 attention: the reference's arithmetic (llama.cpp's non-flash path), vectorized.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "../../core/ggml_math.h"
#include "../../core/kernel_table.h"
#include "../../core/value_walk.h"
#include "../../core/scalar.h"
#include "../../ref/ref.h"
#include "kernels.h"
#include "simd.h"

namespace bitnet {
namespace avx2 {

// ---- attention: attention_head_ref's arithmetic (llama.cpp's non-flash path), vectorized --------------
//
// Each block of the cache holds one kv head's keys position-major ([blockTokens][headDim]) and its
// values transposed ([headDim][blockTokens]), as llama.cpp's non-flash path keeps V (one block of
// `capacity` positions unless paged, see AttentionArgs). Both products therefore read f16
// straight from the cache along their summation axis (q·k along dimensions, p·v along positions),
// converting on the fly: each key and value is read once per query-head pair, nothing is copied.

/**
 * f16 values [0, n) of p (n in 0..8) as floats, the other lanes 0; memory past p[n − 1] is not read.
 * Pairs of values by a masked 32-bit load, an odd last value blended in. The copy through a stack
 * buffer it replaces was most of a short-context decode's attention: 14.5–23 µs a call at 20–64
 * positions (2B shapes, this table forced on Zen 5), 7.0–9.1 µs now.
 */
static inline __m256 load_f16_first(const uint16_t* p, int64_t n) {
  if (n >= 8) return _mm256_cvtph_ps(load128(p));
  if (n <= 0) return _mm256_setzero_ps();
  __m128i v = _mm_maskload_epi32(reinterpret_cast<const int*>(p), _mm_cmpgt_epi32(_mm_set1_epi32((int)(n >> 1)), _mm_setr_epi32(0, 1, 2, 3)));
  if (n & 1) {
    const __m128i lane = _mm_cmpeq_epi16(_mm_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7), _mm_set1_epi16((short)(n - 1)));
    v = _mm_blendv_epi8(v, _mm_set1_epi16((short)p[n - 1]), lane);
  }
  return _mm256_cvtph_ps(v);
}

static inline __m256 f16_round8(__m256 x) { return _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)); }

/** Four f16 vectors at c (32 values) as floats. */
static inline void cvt32(const uint16_t* c, __m256* v) {
  for (int j = 0; j < 4; ++j) v[j] = _mm256_cvtph_ps(load128(c + 8 * j));
}

/** One 32-lane step of ggml_vec_dot_f16 for two dot products sharing v: s[j] += xa[8j..] · v[j], u[j] += xb[8j..] · v[j]. */
static inline void fma2x32(const __m256* v, const float* xa, const float* xb, __m256* s, __m256* u) {
  for (int j = 0; j < 4; ++j) {
    s[j] = _mm256_fmadd_ps(_mm256_load_ps(xa + 8 * j), v[j], s[j]);
    u[j] = _mm256_fmadd_ps(_mm256_load_ps(xb + 8 * j), v[j], u[j]);
  }
}

/**
 * Scores of query heads ga and gb (gb may equal ga) over positions [0, visible): ggml_vec_dot_f16's
 * 32 lanes (dimension mod 32) and its reduction, times the scale. D % 32 == 0.
 */
static void scores_vec_dot(const uint16_t* K, int64_t D, int64_t visible, float scale, const float* qa, const float* qb, float* sa, float* sb) {
  for (int64_t p = 0; p < visible; ++p) {
    const uint16_t* k = K + p * D;
    __m256 s[4], u[4], kv[4];
    for (int j = 0; j < 4; ++j) s[j] = u[j] = _mm256_setzero_ps();
    for (int64_t d = 0; d < D; d += 32) {
      cvt32(k + d, kv);
      fma2x32(kv, qa + d, qb + d, s, u);
    }
    sa[p] = f16_reduce_ggml(s[0], s[1], s[2], s[3]) * scale;
    sb[p] = f16_reduce_ggml(u[0], u[1], u[2], u[3]) * scale;
  }
}

/** Scores of query head q over positions [0, visible): tinyBLAS's 8 lanes (dimension mod 8), hsum8. */
static void scores_tiny(const uint16_t* K, int64_t D, int64_t visible, float scale, const float* q, float* s) {
  for (int64_t p = 0; p < visible; ++p) {
    const uint16_t* k = K + p * D;
    __m256 c = _mm256_setzero_ps();
    for (int64_t d = 0; d < D; d += 8) c = _mm256_fmadd_ps(_mm256_load_ps(q + d), _mm256_cvtph_ps(load128(k + d)), c);
    s[p] = hsum_f32(c) * scale;
  }
}

/**
 * p·V of query heads ga and gb over positions [0, visible) for every dimension: ggml_vec_dot_f16's
 * 32 lanes (position mod 32). wa, wb: f16-rounded weights, zero from `visible` to the next multiple of
 * 32; the value lanes past `visible` are loaded as 0 (those cache slots may hold anything).
 * Paged: the positions go block by block (a.kv_offset); a chunk of 32 never straddles two blocks, so
 * the accumulators simply carry on, and the partial chunk, if any, lies in the last block. A long
 * paged walk goes in spans (value_span), every dimension's accumulators waiting in `lanes` between them.
 */
template <bool Paged>
static void pv_vec_dot(const AttentionArgs& a, int64_t kvh, int64_t visible, const float* wa, const float* wb, float* oa, float* ob, float* lanes) {
  const int64_t D = a.headDim;
  for_each_value_span(a, visible, [&](int64_t from, int64_t to) {
    for (int64_t d = 0; d < D; ++d) {
      float* l = lanes + 64 * d;  // this dimension's 8 accumulators between spans
      __m256 A[4], B[4];
      for (int j = 0; j < 4; ++j) {
        A[j] = from > 0 ? _mm256_loadu_ps(l + 8 * j) : _mm256_setzero_ps();
        B[j] = from > 0 ? _mm256_loadu_ps(l + 32 + 8 * j) : _mm256_setzero_ps();
      }
      // Positions p .. p + 31 from c (c[i] is position p + i).
      auto chunk = [&](const uint16_t* c, int64_t p) {
        __m256 v[4];
        cvt32(c, v);
        fma2x32(v, wa + p, wb + p, A, B);
      };
      // The partial chunk: positions p .. visible − 1 from c, the other lanes 0.
      auto last = [&](const uint16_t* c, int64_t p) {
        __m256 v[4];
        for (int j = 0; j < 4; ++j) v[j] = load_f16_first(c + 8 * j, std::min<int64_t>(8, std::max<int64_t>(0, visible - (p + 8 * j))));
        fma2x32(v, wa + p, wb + p, A, B);
      };
      walk_value_chunks<32, Paged>(a, kvh, d, visible, chunk, last, from, to);
      if (to < visible) {
        for (int j = 0; j < 4; ++j) _mm256_storeu_ps(l + 8 * j, A[j]), _mm256_storeu_ps(l + 32 + 8 * j, B[j]);
        continue;
      }
      oa[d] = f16_reduce_ggml(A[0], A[1], A[2], A[3]);
      ob[d] = f16_reduce_ggml(B[0], B[1], B[2], B[3]);
    }
  });
}

/** p·V of one query head for every dimension: tinyBLAS's 8 lanes (position mod 8), hsum8; paged as pv_vec_dot. */
template <bool Paged>
static void pv_tiny(const AttentionArgs& a, int64_t kvh, int64_t visible, const float* w, float* out, float* lanes) {
  const int64_t D = a.headDim;
  for_each_value_span(a, visible, [&](int64_t from, int64_t to) {
    for (int64_t d = 0; d < D; ++d) {
      __m256 acc = from > 0 ? _mm256_loadu_ps(lanes + 8 * d) : _mm256_setzero_ps();
      walk_value_chunks<8, Paged>(
          a, kvh, d, visible, [&](const uint16_t* c, int64_t p) { acc = _mm256_fmadd_ps(_mm256_load_ps(w + p), _mm256_cvtph_ps(load128(c)), acc); },
          [&](const uint16_t* c, int64_t p) { acc = _mm256_fmadd_ps(_mm256_load_ps(w + p), load_f16_first(c, visible - p), acc); }, from, to);
      if (to < visible) _mm256_storeu_ps(lanes + 8 * d, acc);
      else out[d] = hsum_f32(acc);
    }
  });
}

void attention_queries(const AttentionArgs& a, int64_t t, int64_t kvh, float* qr) {
  const int64_t D = a.headDim, G = a.heads / a.kvHeads;
  for (int64_t g = 0; g < G; ++g) {
    const float* q = a.q + (t * a.heads + kvh * G + g) * D;
    for (int64_t d = 0; d < D; d += 8) _mm256_storeu_ps(qr + g * D + d, f16_round8(_mm256_loadu_ps(q + d)));
  }
}

void attention_weights(float* w, int64_t visible) {
  softmax_row(w, visible);
  const int64_t vp = (visible + 31) & ~(int64_t)31;
  int64_t p = 0;
  for (; p + 8 <= visible; p += 8) _mm256_storeu_ps(w + p, f16_round8(_mm256_loadu_ps(w + p)));
  for (; p < visible; ++p) w[p] = f16_round(w[p]);
  for (; p < vp; ++p) w[p] = 0.0f;
}

/**
 * Block attention: tokens [t0, t1) × the heads/kvHeads query heads that read kv head `kvh`, with
 * attention_head_ref's arithmetic for every (token, head). Query heads go in pairs so each key row
 * and value row converted from f16 serves two heads. Scratch: attention_scratch_floats(a, t1)
 * floats, 32-byte aligned.
 */
void attention_group(const AttentionArgs& a, int64_t t0, int64_t t1, int64_t kvh, float* scratch) {
  const int64_t D = a.headDim;
  const int64_t G = a.heads / a.kvHeads;
  if (D % 32 != 0 || D > 256) {
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t g = 0; g < G; ++g) ref::attention_head_ref(a, t, kvh * G + g, scratch);
    return;
  }
  const int64_t bt = a.blockTokens;
  const bool paged = a.blocks != nullptr;
  const bool batch = a.batch();  // tinyBLAS (8 lanes) for both products, else ggml_vec_dot_f16 (32 lanes)
  const int64_t vpmax = (a.startPos + t1 + 31) & ~(int64_t)31;
  float* sc = scratch;              // [G][vpmax] scores, then weights
  float* qr = sc + G * vpmax;       // [G][D] f16-rounded queries
  float* lanes = value_span_lanes(a, scratch, vpmax);
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t visible = a.startPos + t + 1;
    attention_queries(a, t, kvh, qr);
    // Scores block by block: positions [p0, p0 + n) of block j.
    for (int64_t j = 0, p0 = 0; p0 < visible; ++j, p0 += bt) {
      const uint16_t* K = a.k + a.kv_offset(j, kvh);
      const int64_t n = std::min(bt, visible - p0);
      for (int64_t g = 0; g < G; g += 2) {
        const int64_t g2 = g + 1 < G ? g + 1 : g;
        if (batch) {
          scores_tiny(K, D, n, a.scale, qr + g * D, sc + g * vpmax + p0);
          if (g2 != g) scores_tiny(K, D, n, a.scale, qr + g2 * D, sc + g2 * vpmax + p0);
        } else {
          scores_vec_dot(K, D, n, a.scale, qr + g * D, qr + g2 * D, sc + g * vpmax + p0, sc + g2 * vpmax + p0);
        }
      }
    }
    for (int64_t g = 0; g < G; ++g) attention_weights(sc + g * vpmax, visible);
    for (int64_t g = 0; g < G; g += 2) {
      const int64_t g2 = g + 1 < G ? g + 1 : g;
      float* oa = a.out + (t * a.heads + kvh * G + g) * D;
      float* ob = a.out + (t * a.heads + kvh * G + g2) * D;
      const float* wa = sc + g * vpmax;
      const float* wb = sc + g2 * vpmax;
      if (batch) {
        paged ? pv_tiny<true>(a, kvh, visible, wa, oa, lanes) : pv_tiny<false>(a, kvh, visible, wa, oa, lanes);
        if (g2 != g) paged ? pv_tiny<true>(a, kvh, visible, wb, ob, lanes) : pv_tiny<false>(a, kvh, visible, wb, ob, lanes);
      } else {
        paged ? pv_vec_dot<true>(a, kvh, visible, wa, wb, oa, ob, lanes) : pv_vec_dot<false>(a, kvh, visible, wa, wb, oa, ob, lanes);
      }
    }
  }
}

}  // namespace avx2
}  // namespace bitnet
