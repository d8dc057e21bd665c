// AVX-512 attention for rows with the one-token arithmetic (decode steps, and prefill rows computed
// as if decoded alone): ggml_vec_dot_f16's 32 lanes held in two zmm per dot product, up to four query
// heads per pass over a kv head's keys and values (scores: two positions a pass, or, for a task of
// several prefill rows, by lane over keys transposed once (scores_transposed.cpp); p·V: three value
// rows a pass past 64 positions, 24 accumulators: 64 rows at position 3968 took 16.6–16.9 ms instead
// of 18.1–21.1 with two rows, Zen 4, 2 threads). A batch (llama.cpp's tinyBLAS arithmetic) goes to the
// AVX2 kernel.
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

/** Rows a task needs for its keys to be transposed (scores_transposed.cpp; the transposition costs
 *  about one row's scores), and positions before its first row (short rows waste much of their last
 *  16-position block: at position 0 the by-lane scores were slower). */
constexpr int64_t kScoresByLaneRows = 4;
constexpr int64_t kScoresByLaneFrom = 48;

/** Positions from which p·V walks three value rows a pass (fewer: two). */
constexpr int64_t kValuesTripleFrom = 64;

/** f16 values [0, n) of p (n in 0..16) as floats, the other lanes 0. */
inline __m512 load_f16x16_first(const uint16_t* p, int64_t n) {
#if defined(BITNET_AVX512_EMULATED)
  alignas(32) uint16_t tmp[16] = {0};
  if (n > 0) std::memcpy(tmp, p, (size_t)n * sizeof(uint16_t));
  return cvtph512(_mm256_load_si256(reinterpret_cast<const __m256i*>(tmp)));
#else
  // a masked load: lanes n.. are zero and their memory is not read (no fault past the cache's end);
  // the copy through a stack buffer it replaces took half of a short-context decode's attention
  return cvtph512(_mm256_maskz_loadu_epi16((__mmask16)((1u << n) - 1), p));
#endif
}

/** ggml's reduction of the 32 lanes held as A = s0 | s1, B = s2 | s3. */
inline float reduce32(__m512 A, __m512 B) {
  const __m256 s0 = _mm512_castps512_ps256(A);
  const __m256 s1 = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(A), 1));
  const __m256 s2 = _mm512_castps512_ps256(B);
  const __m256 s3 = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(B), 1));
  return f16_reduce_ggml(s0, s1, s2, s3);
}

/**
 * reduce32 of eight (A, B) pairs at once, with the same additions in the same tree: s0 + s2 and s1 + s3
 * (A + B), their sum (lanes 0..7 + 8..15), the two 4-lane halves, then (t0 + t1) + (t2 + t3) as the
 * two hadds do. Shuffles only move lanes, and a + b is b + a bit for bit, so every result is the one
 * reduce32 gives. r[k] = reduce32(A[k], B[k]).
 */
/** 128-bit quarters of a and b (vshuff32x4; the integer form, which SIMDe 0.7 also has). */
template <int Imm>
inline __m512 quarters(__m512 a, __m512 b) {
  return _mm512_castsi512_ps(_mm512_shuffle_i32x4(_mm512_castps_si512(a), _mm512_castps_si512(b), Imm));
}

inline __m256 reduce32x8(const __m512* A, const __m512* B) {
  __m512 c[8], v[4], t[2];
  for (int k = 0; k < 8; ++k) c[k] = _mm512_add_ps(A[k], B[k]);  // [s0 + s2 | s1 + s3]
  for (int u = 0; u < 4; ++u)  // [c.lo8 + c.hi8 of 2u | of 2u + 1]
    v[u] = _mm512_add_ps(quarters<_MM_SHUFFLE(1, 0, 1, 0)>(c[2 * u], c[2 * u + 1]),
                         quarters<_MM_SHUFFLE(3, 2, 3, 2)>(c[2 * u], c[2 * u + 1]));
  for (int u = 0; u < 2; ++u)  // quarter q: the 4 lanes t of output 4u + q (its 8 lanes' low + high half)
    t[u] = _mm512_add_ps(quarters<_MM_SHUFFLE(2, 0, 2, 0)>(v[2 * u], v[2 * u + 1]),
                         quarters<_MM_SHUFFLE(3, 1, 3, 1)>(v[2 * u], v[2 * u + 1]));
  // quarter q: [t0 + t1, t2 + t3] of output q, then of output 4 + q
  const __m512 h = _mm512_add_ps(_mm512_shuffle_ps(t[0], t[1], _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_ps(t[0], t[1], _MM_SHUFFLE(3, 1, 3, 1)));
  // quarter q: lane 0 output q, lane 1 output 4 + q
  const __m512 f = _mm512_add_ps(_mm512_shuffle_ps(h, h, _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_ps(h, h, _MM_SHUFFLE(3, 1, 3, 1)));
  return _mm512_castps512_ps256(_mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0), f));
}

/**
 * One 32-lane step of 4·E dot products (output k = E·h + e): x[h] at off .. off + 31 of four heads
 * against E vectors (va[e]: their first 16 lanes, vb[e]: the next 16), into A (lanes 0..15) and B
 * (16..31). Each x load is pinned in a register: GCC otherwise folds it into all E of its FMAs.
 */
template <int E>
inline void fma_4xE(__m512* A, __m512* B, const float* const* x, int64_t off, const __m512* va, const __m512* vb) {
  for (int h = 0; h < 4; ++h) {
    const __m512 xa = in_register(_mm512_loadu_ps(x[h] + off)), xb = in_register(_mm512_loadu_ps(x[h] + off + 16));
    for (int e = 0; e < E; ++e) {
      A[E * h + e] = _mm512_fmadd_ps(xa, va[e], A[E * h + e]);
      B[E * h + e] = _mm512_fmadd_ps(xb, vb[e], B[E * h + e]);
    }
  }
}

/** r[k] = reduce32(A[k], B[k]) for the 4·E outputs of fma_4xE, eight at a time (reduce32x8). */
template <int E>
inline void reduce_4xE(const __m512* A, const __m512* B, float* r) {
  constexpr int N = 4 * E, Pad = (N + 7) / 8 * 8;
  __m512 a[Pad], b[Pad];
  for (int k = 0; k < Pad; ++k) a[k] = k < N ? A[k] : _mm512_setzero_ps(), b[k] = k < N ? B[k] : _mm512_setzero_ps();
  alignas(32) float t[Pad];
  for (int k = 0; k < Pad; k += 8) _mm256_store_ps(t + k, reduce32x8(a + k, b + k));
  for (int k = 0; k < N; ++k) r[k] = t[k];
}

/** Scores of H query heads over positions [0, visible): s[h][p] = vec_dot_f16(q[h], k_p) · scale. */
template <int H>
void scores(const uint16_t* K, int64_t D, int64_t visible, float scale, const float* const* q, float* const* s) {
  int64_t p = 0;
  if constexpr (H == 4) {
    // Two positions a pass, their eight dot products reduced together (three positions measured no
    // faster); four passes' results are transposed so that each head's eight scores go out in one
    // store (scalar stores take an FMA slot each on Zen 4).
    const __m256 vs = _mm256_set1_ps(scale);
    auto two = [&](int64_t p2) {  // [head 0: p2, p2 + 1 | head 1: .. | head 2 | head 3] · scale
      __m512 A[8], B[8];
      for (int k = 0; k < 8; ++k) A[k] = B[k] = _mm512_setzero_ps();
      for (int64_t d = 0; d < D; d += 32) {
        __m512 ka[2], kb[2];
        for (int e = 0; e < 2; ++e) ka[e] = cvtph512(load256(K + (p2 + e) * D + d)), kb[e] = cvtph512(load256(K + (p2 + e) * D + d + 16));
        fma_4xE<2>(A, B, q, d, ka, kb);
      }
      return _mm256_castps_pd(_mm256_mul_ps(reduce32x8(A, B), vs));
    };
    for (; p + 8 <= visible; p += 8) {
      const __m256d r0 = two(p), r1 = two(p + 2), r2 = two(p + 4), r3 = two(p + 6);  // 64-bit element h: head h
      const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
      const __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
      _mm256_storeu_pd(reinterpret_cast<double*>(s[0] + p), _mm256_permute2f128_pd(t0, t2, 0x20));
      _mm256_storeu_pd(reinterpret_cast<double*>(s[1] + p), _mm256_permute2f128_pd(t1, t3, 0x20));
      _mm256_storeu_pd(reinterpret_cast<double*>(s[2] + p), _mm256_permute2f128_pd(t0, t2, 0x31));
      _mm256_storeu_pd(reinterpret_cast<double*>(s[3] + p), _mm256_permute2f128_pd(t1, t3, 0x31));
    }
    for (; p + 2 <= visible; p += 2) {
      alignas(32) float t[8];
      _mm256_store_pd(reinterpret_cast<double*>(t), two(p));
      for (int h = 0; h < 4; ++h) s[h][p] = t[2 * h], s[h][p + 1] = t[2 * h + 1];
    }
  }
  for (; p < visible; ++p) {
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
 * o[h][d0 .. d0 + E − 1] of weighted_values for four heads: E value rows (dimensions d0.., bt apart)
 * walked together, each loaded row chunk serving four heads and each weight chunk E dimensions; over
 * positions [from, to) of a walk in spans, the lanes taken from and left in acc (4·E·32 floats).
 */
template <int E, bool Paged>
void values_4xE(const AttentionArgs& a, int64_t kvh, int64_t visible, int64_t d0, const float* const* w, float* const* o,
                int64_t from, int64_t to, float* acc) {
  const int64_t bt = a.blockTokens;
  __m512 A[4 * E], B[4 * E];  // output E·h + e: head h, dimension d0 + e
  if (from > 0)
    for (int k = 0; k < 4 * E; ++k) A[k] = _mm512_loadu_ps(acc + 32 * k), B[k] = _mm512_loadu_ps(acc + 32 * k + 16);
  else
    for (int k = 0; k < 4 * E; ++k) A[k] = B[k] = _mm512_setzero_ps();
  auto chunk = [&](const uint16_t* c, int64_t p) {
    __m512 va[E], vb[E];
    for (int e = 0; e < E; ++e) va[e] = cvtph512(load256(c + e * bt)), vb[e] = cvtph512(load256(c + e * bt + 16));
    fma_4xE<E>(A, B, w, p, va, vb);
  };
  auto last = [&](const uint16_t* c, int64_t p) {
    const int64_t n = visible - p, na = std::min<int64_t>(16, n), nb = std::max<int64_t>(0, n - 16);
    __m512 va[E], vb[E];
    for (int e = 0; e < E; ++e) va[e] = load_f16x16_first(c + e * bt, na), vb[e] = load_f16x16_first(c + e * bt + 16, nb);
    fma_4xE<E>(A, B, w, p, va, vb);
  };
  walk_value_chunks<32, Paged>(a, kvh, d0, visible, chunk, last, from, to);
  if (to < visible) {  // more ranges follow: the lanes wait in acc
    for (int k = 0; k < 4 * E; ++k) _mm512_storeu_ps(acc + 32 * k, A[k]), _mm512_storeu_ps(acc + 32 * k + 16, B[k]);
    return;
  }
  float r[4 * E];
  reduce_4xE<E>(A, B, r);
  for (int h = 0; h < 4; ++h)
    for (int e = 0; e < E; ++e) o[h][d0 + e] = r[E * h + e];
}

/**
 * p·V of H query heads for every dimension: o[h][d] = vec_dot_f16 over positions of (w[h], v_d).
 * w[h]: f16-rounded weights, zero from `visible` up to the next multiple of 32; value lanes past
 * `visible` are loaded as 0 (those cache slots may hold anything). Paged: block by block
 * (a.kv_offset); a chunk of 32 never straddles two blocks, the accumulators carry on, the partial
 * chunk is the last block's. Four heads walk a long paged context in spans (value_span), their
 * accumulators waiting in `acc` (value_span_lanes) between them.
 */
template <int H, bool Paged>
void weighted_values(const AttentionArgs& a, int64_t kvh, int64_t visible, const float* const* w, float* const* o, float* acc) {
  const int64_t D = a.headDim;
  int64_t d0 = 0;
  if constexpr (H == 4) {
    for_each_value_span(a, visible, [&](int64_t from, int64_t to) {
      d0 = 0;
      // three rows a pass once the walk is long enough to repay its wider reduction (32 positions: two)
      if (visible > kValuesTripleFrom)
        for (; d0 + 3 <= D; d0 += 3) values_4xE<3, Paged>(a, kvh, visible, d0, w, o, from, to, acc + 128 * d0);
      for (; d0 + 2 <= D; d0 += 2) values_4xE<2, Paged>(a, kvh, visible, d0, w, o, from, to, acc + 128 * d0);
    });
  }
  for (int64_t d = d0; d < D; ++d) {
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
  // Several rows: their keys transposed once, then scores by lane (scores_transposed.cpp).
  const bool by_lane = G % 4 == 0 && t1 - t0 >= kScoresByLaneRows && a.startPos + t0 >= kScoresByLaneFrom;
  uint16_t* kt = reinterpret_cast<uint16_t*>(qr + G * D);  // [vpmax / 16][D][16]
  float* acc = value_span_lanes(a, scratch, vpmax);
  if (by_lane) transpose_keys_512(a, kvh, a.startPos + t1, kt);
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t visible = a.startPos + t + 1;
    avx2::attention_queries(a, t, kvh, qr);
    if (by_lane) {
      for (int64_t g = 0; g < G; g += 4) {
        const float* qs[4] = {qr + g * D, qr + (g + 1) * D, qr + (g + 2) * D, qr + (g + 3) * D};
        float* ss[4] = {sc + g * vpmax, sc + (g + 1) * vpmax, sc + (g + 2) * vpmax, sc + (g + 3) * vpmax};
        scores_transposed4_512(kt, D, visible, a.scale, qs, ss);
      }
    } else {
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
    }
    for (int64_t g = 0; g < G; ++g) attention_weights_512(sc + g * vpmax, visible);
    for (int64_t g = 0; g < G; g += 4) {
      in_fours(g, G, [&](auto hh) {
        constexpr int H = decltype(hh)::value;
        const float* ws[H];
        float* os[H];
        for (int h = 0; h < H; ++h) ws[h] = sc + (g + h) * vpmax, os[h] = a.out + (t * a.heads + kvh * G + g + h) * D;
        a.blocks ? weighted_values<H, true>(a, kvh, visible, ws, os, acc) : weighted_values<H, false>(a, kvh, visible, ws, os, acc);
      });
    }
  }
}

}  // namespace avx512
}  // namespace bitnet
