// Attention scores for a block of query rows (a prefill task) with ggml_vec_dot_f16's arithmetic, the
// 32 lanes turned sideways: the task's keys are first transposed into blocks of 16 positions, each
// dimension-major f16 (one pass over the cache), then each of ggml's 32 lanes becomes one zmm over 16
// positions, and the lane reduction is 31 vertical adds for 16 scores instead of ~19 shuffles and 15
// adds for 8.
//
// Exactness: ggml's lane L (dimensions ≡ L mod 32) is the FMA chain from zero over d = L, L + 32, ...
// in that order, as here per position; the reduction (f16_reduce_ggml) is u_l = (a_l + a_l+16) +
// (a_l+8 + a_l+24) for l < 8, x_i = u_i + u_i+4 for i < 4, then (x0 + x1) + (x2 + x3), which is what
// scores_transposed4_512 computes lane-wise (its pair, u and x steps); then times the scale. So a score
// has the bits of the one-token kernel.
//
// The transposition is one read of the task's keys (from L3 at long contexts: ~10 % of the call at
// position 3968, where the old per-row scores read every key once per row). Zen 4, 2 threads, one
// 2B4T attention call of 64 prefill rows, with the three-row p·V of attention.cpp (before → after):
// position 3968 17.8–18.4 → 15.1–16.1 ms; 1000: 4.45–4.52 → 3.70–3.71; 192: 1.07–1.09 → 0.95–0.98;
// position 0 (this path not taken, see kScoresByLaneFrom) 0.287–0.288 → 0.288–0.292.
#include <algorithm>
#include <cstdint>

#include "../../core/kernel_table.h"
#include "../avx2/simd.h"
#include "kernels.h"
#include "simd512.h"

namespace bitnet {
namespace avx512 {

namespace {

/** In-register transpose of a 16 × 16 block of 16-bit values: r[i] element j becomes r[j] element i. */
inline void transpose16x16_u16(__m256i* r) {
  __m256i a[16], b[16], c[16];
  for (int i = 0; i < 8; ++i) {  // 128-bit lane k: rows 2i, 2i+1 interleaved, columns 8k .. 8k+3 (a[2i]) and 8k+4 .. (a[2i+1])
    a[2 * i] = _mm256_unpacklo_epi16(r[2 * i], r[2 * i + 1]);
    a[2 * i + 1] = _mm256_unpackhi_epi16(r[2 * i], r[2 * i + 1]);
  }
  for (int g = 0; g < 4; ++g) {  // b[4g + m], lane k: rows 4g .. 4g+3 of column 8k + 2m, then of column 8k + 2m + 1
    b[4 * g + 0] = _mm256_unpacklo_epi32(a[4 * g], a[4 * g + 2]);
    b[4 * g + 1] = _mm256_unpackhi_epi32(a[4 * g], a[4 * g + 2]);
    b[4 * g + 2] = _mm256_unpacklo_epi32(a[4 * g + 1], a[4 * g + 3]);
    b[4 * g + 3] = _mm256_unpackhi_epi32(a[4 * g + 1], a[4 * g + 3]);
  }
  for (int h = 0; h < 2; ++h)  // c[8h + j], lane k: rows 8h .. 8h+7 of column 8k + j
    for (int m = 0; m < 4; ++m) {
      c[8 * h + 2 * m] = _mm256_unpacklo_epi64(b[8 * h + m], b[8 * h + 4 + m]);
      c[8 * h + 2 * m + 1] = _mm256_unpackhi_epi64(b[8 * h + m], b[8 * h + 4 + m]);
    }
  for (int j = 0; j < 8; ++j) {  // column j: rows 0..7 from c[j], rows 8..15 from c[8 + j]; column 8 + j from their high lanes
    r[j] = _mm256_permute2x128_si256(c[j], c[8 + j], 0x20);
    r[8 + j] = _mm256_permute2x128_si256(c[j], c[8 + j], 0x31);
  }
}

}  // namespace

void transpose_keys_512(const AttentionArgs& a, int64_t kvh, int64_t reach, uint16_t* kt) {
  const int64_t D = a.headDim, bt = a.blockTokens;
  for (int64_t j = 0, p0 = 0; p0 < reach; ++j, p0 += bt) {
    const uint16_t* K = a.k + a.kv_offset(j, kvh);
    const int64_t n = std::min(bt, reach - p0);
    for (int64_t i0 = 0; i0 < n; i0 += 16) {
      const int64_t m = std::min<int64_t>(16, n - i0);
      for (int64_t d0 = 0; d0 < D; d0 += 16) {
        __m256i r[16];
        for (int i = 0; i < 16; ++i) r[i] = i < m ? load256(K + (i0 + i) * D + d0) : _mm256_setzero_si256();
        transpose16x16_u16(r);
        uint16_t* dst = kt + (p0 + i0) * D + d0 * 16;  // block (p0 + i0) / 16, rows d0 ..
        for (int d = 0; d < 16; ++d) _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + d * 16), r[d]);
      }
    }
  }
}

void scores_transposed4_512(const uint16_t* kt, int64_t D, int64_t visible, float scale, const float* const* q, float* const* s) {
  const __m512 vs = _mm512_set1_ps(scale);
  for (int64_t p = 0; p < visible; p += 16) {
    const uint16_t* kp = kt + p * D;  // [D][16]
    // a_L for lanes L and L + 16 of four heads, summed: c[h] = a_L + a_L+16
    auto pair = [&](int L, __m512* c) {
      __m512 x[4], y[4];
      for (int h = 0; h < 4; ++h) x[h] = y[h] = _mm512_setzero_ps();
      for (int64_t d = 0; d < D; d += 32) {
        const __m512 kx = cvtph512(load256(kp + (d + L) * 16)), ky = cvtph512(load256(kp + (d + L + 16) * 16));
        for (int h = 0; h < 4; ++h) {
          x[h] = _mm512_fmadd_ps(_mm512_set1_ps(q[h][d + L]), kx, x[h]);
          y[h] = _mm512_fmadd_ps(_mm512_set1_ps(q[h][d + L + 16]), ky, y[h]);
        }
      }
      for (int h = 0; h < 4; ++h) c[h] = _mm512_add_ps(x[h], y[h]);
    };
    auto u = [&](int l, __m512* out) {  // u_l = (a_l + a_l+16) + (a_l+8 + a_l+24)
      __m512 c0[4], c1[4];
      pair(l, c0);
      pair(l + 8, c1);
      for (int h = 0; h < 4; ++h) out[h] = _mm512_add_ps(c0[h], c1[h]);
    };
    auto x = [&](int i, __m512* out) {  // x_i = u_i + u_i+4
      __m512 u0[4], u1[4];
      u(i, u0);
      u(i + 4, u1);
      for (int h = 0; h < 4; ++h) out[h] = _mm512_add_ps(u0[h], u1[h]);
    };
    __m512 x0[4], x1[4], w0[4];
    x(0, x0);
    x(1, x1);
    for (int h = 0; h < 4; ++h) w0[h] = _mm512_add_ps(x0[h], x1[h]);
    x(2, x0);
    x(3, x1);
    for (int h = 0; h < 4; ++h) _mm512_storeu_ps(s[h] + p, _mm512_mul_ps(_mm512_add_ps(w0[h], _mm512_add_ps(x0[h], x1[h])), vs));
  }
}

}  // namespace avx512
}  // namespace bitnet
