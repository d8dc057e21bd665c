// AVX-512 attention for rows with the one-token arithmetic (decode steps, and prefill rows computed
// as if decoded alone): ggml_vec_dot_f16's 32 lanes held in two zmm per dot product, up to four query
// heads per pass over a kv head's keys and values. A batch (llama.cpp's tinyBLAS arithmetic) goes to
// the AVX2 kernel.
//
// Exactness: ggml_vec_dot_f16 (AVX2) keeps four 8-lane accumulators s0..s3, s_j lane l summing the
// products at offset 8j + l of every 32-element step. Here zmm A = s0 | s1 and B = s2 | s3: each lane
// runs the same chain of FMAs on the same f16→f32 values, and A, B are split back into s0..s3 for the
// same reduction (f16_reduce_ggml). The cache layout and the weight rounding are the AVX2 kernel's.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "../../core/ggml_math.h"
#include "../../core/kernel_table.h"
#include "../../core/value_walk.h"
#include "../../core/scalar.h"
#include "../avx2/kernels.h"
#include "../avx2/simd.h"
#include "kernels.h"
#include "simd512.h"

namespace bitnet {
namespace avx512 {

namespace {

/** f16 values [0, n) of p (n in 0..16) as floats, the other lanes 0. */
inline __m512 load_f16x16_first(const uint16_t* p, int64_t n) {
  alignas(32) uint16_t tmp[16] = {0};
  if (n > 0) std::memcpy(tmp, p, (size_t)n * sizeof(uint16_t));
  return cvtph512(_mm256_load_si256(reinterpret_cast<const __m256i*>(tmp)));
}

/** ggml's reduction of the 32 lanes held as A = s0 | s1, B = s2 | s3. */
inline float reduce32(__m512 A, __m512 B) {
  const __m256 s0 = _mm512_castps512_ps256(A);
  const __m256 s1 = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(A), 1));
  const __m256 s2 = _mm512_castps512_ps256(B);
  const __m256 s3 = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(B), 1));
  return f16_reduce_ggml(s0, s1, s2, s3);
}

/** Scores of H query heads over positions [0, visible): s[h][p] = vec_dot_f16(q[h], k_p) · scale. */
template <int H>
void scores(const uint16_t* K, int64_t D, int64_t visible, float scale, const float* const* q, float* const* s) {
  for (int64_t p = 0; p < visible; ++p) {
    const uint16_t* k = K + p * D;
    __m512 A[H], B[H];
    for (int h = 0; h < H; ++h) A[h] = B[h] = _mm512_setzero_ps();
    for (int64_t d = 0; d < D; d += 32) {
      const __m512 ka = cvtph512(load256(k + d)), kb = cvtph512(load256(k + d + 16));
      for (int h = 0; h < H; ++h) {
        A[h] = _mm512_fmadd_ps(_mm512_loadu_ps(q[h] + d), ka, A[h]);
        B[h] = _mm512_fmadd_ps(_mm512_loadu_ps(q[h] + d + 16), kb, B[h]);
      }
    }
    for (int h = 0; h < H; ++h) s[h][p] = reduce32(A[h], B[h]) * scale;
  }
}

/**
 * p·V of H query heads for every dimension: o[h][d] = vec_dot_f16 over positions of (w[h], v_d).
 * w[h]: f16-rounded weights, zero from `visible` up to the next multiple of 32; value lanes past
 * `visible` are loaded as 0 (those cache slots may hold anything). Paged: block by block
 * (a.kv_offset); a chunk of 32 never straddles two blocks, the accumulators carry on, the partial
 * chunk is the last block's.
 */
template <int H, bool Paged>
void weighted_values(const AttentionArgs& a, int64_t kvh, int64_t visible, const float* const* w, float* const* o) {
  const int64_t D = a.headDim;
  for (int64_t d = 0; d < D; ++d) {
    __m512 A[H], B[H];
    for (int h = 0; h < H; ++h) A[h] = B[h] = _mm512_setzero_ps();
    // Positions p .. p + 31 from c (c[i] is position p + i).
    auto chunk = [&](const uint16_t* c, int64_t p) {
      const __m512 va = cvtph512(load256(c)), vb = cvtph512(load256(c + 16));
      for (int h = 0; h < H; ++h) {
        A[h] = _mm512_fmadd_ps(_mm512_loadu_ps(w[h] + p), va, A[h]);
        B[h] = _mm512_fmadd_ps(_mm512_loadu_ps(w[h] + p + 16), vb, B[h]);
      }
    };
    // The partial chunk: positions p .. visible − 1 from c, the other lanes 0.
    auto last = [&](const uint16_t* c, int64_t p) {
      const int64_t n = visible - p;
      const __m512 va = load_f16x16_first(c, std::min<int64_t>(16, n));
      const __m512 vb = load_f16x16_first(c + 16, std::max<int64_t>(0, n - 16));
      for (int h = 0; h < H; ++h) {
        A[h] = _mm512_fmadd_ps(_mm512_loadu_ps(w[h] + p), va, A[h]);
        B[h] = _mm512_fmadd_ps(_mm512_loadu_ps(w[h] + p + 16), vb, B[h]);
      }
    };
    walk_value_chunks<32, Paged>(a, kvh, d, visible, chunk, last);
    for (int h = 0; h < H; ++h) o[h][d] = reduce32(A[h], B[h]);
  }
}

/** Calls f(std::integral_constant<int, H>) for heads [g, g + H): H = 4 while it fits, then the rest. */
template <class F>
inline void in_fours(int64_t g, int64_t G, F&& f) {
  const int64_t n = std::min<int64_t>(4, G - g);
  if (n == 4) f(std::integral_constant<int, 4>{});
  else if (n == 3) f(std::integral_constant<int, 3>{});
  else if (n == 2) f(std::integral_constant<int, 2>{});
  else f(std::integral_constant<int, 1>{});
}

}  // namespace

void attention_group_512(const AttentionArgs& a, int64_t t0, int64_t t1, int64_t kvh, float* scratch) {
  const int64_t D = a.headDim;
  const int64_t G = a.heads / a.kvHeads;
  if (a.batch() || D % 32 != 0 || D > 256) {
    avx2::attention_group(a, t0, t1, kvh, scratch);
    return;
  }
  const int64_t bt = a.blockTokens;
  const int64_t vpmax = (a.startPos + t1 + 31) & ~(int64_t)31;
  float* sc = scratch;         // [G][vpmax] scores, then weights
  float* qr = sc + G * vpmax;  // [G][D] f16-rounded queries
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t visible = a.startPos + t + 1;
    avx2::attention_queries(a, t, kvh, qr);
    for (int64_t j = 0, p0 = 0; p0 < visible; ++j, p0 += bt) {  // positions [p0, p0 + n) of block j
      const uint16_t* K = a.k + a.kv_offset(j, kvh);
      const int64_t n = std::min(bt, visible - p0);
      for (int64_t g = 0; g < G; g += 4) {
        in_fours(g, G, [&](auto hh) {
          constexpr int H = decltype(hh)::value;
          const float* qs[H];
          float* ss[H];
          for (int h = 0; h < H; ++h) qs[h] = qr + (g + h) * D, ss[h] = sc + (g + h) * vpmax + p0;
          scores<H>(K, D, n, a.scale, qs, ss);
        });
      }
    }
    for (int64_t g = 0; g < G; ++g) avx2::attention_weights(sc + g * vpmax, visible);
    for (int64_t g = 0; g < G; g += 4) {
      in_fours(g, G, [&](auto hh) {
        constexpr int H = decltype(hh)::value;
        const float* ws[H];
        float* os[H];
        for (int h = 0; h < H; ++h) ws[h] = sc + (g + h) * vpmax, os[h] = a.out + (t * a.heads + kvh * G + g + h) * D;
        a.blocks ? weighted_values<H, true>(a, kvh, visible, ws, os) : weighted_values<H, false>(a, kvh, visible, ws, os);
      });
    }
  }
}

}  // namespace avx512
}  // namespace bitnet
