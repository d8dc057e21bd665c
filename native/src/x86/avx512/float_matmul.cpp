// AVX-512 F32 and BF16 weights × f32 activations (16-lane FMA tiles), and the k-quant / Q8_0 rows
// decoded with 512-bit code. F16 stays on the AVX2 kernel, which reproduces ggml_vec_dot_f16 (AVX2) exactly.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "../../core/ggml_math.h"
#include "../../core/kernel_table.h"
#include "../../core/scalar.h"
#include "../../core/dequant_rows.h"
#include "../avx2/float_tile.h"
#include "../avx2/kernels.h"
#include "../avx2/simd.h"
#include "kernels.h"
#include "simd512.h"

namespace bitnet {
namespace avx512 {

namespace {

// ---- float weights × f32 activations (zmm) ----------------------------------------------------------------

struct Load512F32 {
  static inline __m512 load16(const uint8_t* row, int64_t k) { return _mm512_loadu_ps((const float*)row + k); }
  static inline float load1(const uint8_t* row, int64_t k) { return ((const float*)row)[k]; }
  static constexpr int kBytes = 4;
};
struct Load512F16 {
  static inline __m512 load16(const uint8_t* row, int64_t k) { return cvtph512(load256(row + 2 * k)); }
  static inline float load1(const uint8_t* row, int64_t k) { return f16_to_f32(load_u16(row + 2 * k)); }
  static constexpr int kBytes = 2;
};
struct Load512BF16 {
  static inline __m512 load16(const uint8_t* row, int64_t k) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(cvtepu16_512(load256(row + 2 * k)), 16));
  }
  static inline float load1(const uint8_t* row, int64_t k) { return bf16_to_f32(load_u16(row + 2 * k)); }
  static constexpr int kBytes = 2;
};

template <class L, int RN, int RM>
static inline void float_tile512(const uint8_t* const* w, const float* const* x, int64_t K, float (*res)[RN]) {
  __m512 acc[RN][RM];
  for (int r = 0; r < RN; ++r)
    for (int i = 0; i < RM; ++i) acc[r][i] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    if ((k & 31) == 0)
      for (int r = 0; r < RN; ++r) _mm_prefetch((const char*)(w[r] + k * L::kBytes + 1536), _MM_HINT_T0);
    __m512 xv[RM];
    for (int i = 0; i < RM; ++i) xv[i] = _mm512_loadu_ps(x[i] + k);
    for (int r = 0; r < RN; ++r) {
      const __m512 wv = L::load16(w[r], k);
      for (int i = 0; i < RM; ++i) acc[r][i] = _mm512_fmadd_ps(wv, xv[i], acc[r][i]);
    }
  }
  for (int r = 0; r < RN; ++r)
    for (int i = 0; i < RM; ++i) {
      float s = hsum512_ps(acc[r][i]);
      for (int64_t kk = k; kk < K; ++kk) s += L::load1(w[r], kk) * x[i][kk];
      res[i][r] = s;
    }
}

template <class L, int RN, int RM>
static void float_rows512(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  const uint8_t* w[RN];
  const float* x[RM];
  int64_t n = n0;
  for (; n + RN <= n1; n += RN) {
    for (int r = 0; r < RN; ++r) w[r] = a.w + (n + r) * a.row_bytes;
    int64_t m = 0;
    for (; m + RM <= a.M; m += RM) {
      float res[RM][RN];
      for (int i = 0; i < RM; ++i) x[i] = a.x + (m + i) * a.K;
      float_tile512<L, RN, RM>(w, x, a.K, res);
      for (int i = 0; i < RM; ++i)
        for (int r = 0; r < RN; ++r) a.out[(m + i) * a.N + n + r] = res[i][r];
    }
    for (; m < a.M; ++m) {
      float res[1][RN];
      x[0] = a.x + m * a.K;
      float_tile512<L, RN, 1>(w, x, a.K, res);
      for (int r = 0; r < RN; ++r) a.out[m * a.N + n + r] = res[0][r];
    }
  }
  for (; n < n1; ++n) {
    w[0] = a.w + n * a.row_bytes;
    for (int64_t m = 0; m < a.M; ++m) {
      float res[1][1];
      x[0] = a.x + m * a.K;
      float_tile512<L, 1, 1>(w, x, a.K, res);
      a.out[m * a.N + n] = res[0][0];
    }
  }
}

}  // namespace

template <class L>
static void matmul_float512(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  if (a.M == 1) float_rows512<L, 4, 1>(a, n0, n1);
  else if (a.M < 4) float_rows512<L, 4, 2>(a, n0, n1);
  else float_rows512<L, 2, 4>(a, n0, n1);
}

/** Writes x[0..n) as f16 to h; whether every value converted back equals its x (false for a NaN). */
static bool f16_copy_if_exact(const float* x, int64_t n, uint16_t* h) {
  __m256 bad = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m128i hv = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128((__m128i*)(h + i), hv);
    bad = _mm256_or_ps(bad, _mm256_cmp_ps(_mm256_cvtph_ps(hv), v, _CMP_NEQ_UQ));
  }
  bool exact = _mm256_movemask_ps(bad) == 0;
  for (; i < n; ++i) {
    h[i] = f32_to_f16(x[i]);
    exact = exact && f16_to_f32(h[i]) == x[i];
  }
  return exact;
}

// ---- F16 weights: ggml_vec_dot_f16 (AVX2) exactly, two ymm accumulators per zmm --------------------------
//
// The AVX2 kernel (avx2::matmul_f16, = matmul_f16_ref) gives each row four 8-lane accumulators s0..s3,
// s_j lane l summing w·x at k + 8j + l for k = 0, 32, … < K & ~31, then f16_reduce_ggml(s0, s1, s2, s3)
// and the tail in double. Here zmm A holds s0 | s1 (lanes 0..7 | 8..15 = k + 0..15) and zmm B holds
// s2 | s3 (k + 16..31): every lane runs the same chain of fmaf on the same f16→f32 values, so splitting
// A and B back into s0..s3 before the same reduction gives the AVX2 bits, for any number of rows.
// A tile is RN weight rows × RM activation rows: each converted weight vector is used by RM rows and each
// x vector by RN weight rows, but a row's own arithmetic never depends on the tile it is in.

template <int RN, int RM, bool XH = false, bool STREAM = true>
static inline void f16_tile512(const uint8_t* const* w, const float* x, int64_t K, float* out, int64_t out_stride, const char* pf = nullptr,
                               int64_t pf_lines = 0, const uint16_t* xh = nullptr) {
  auto xload = [&](int i, int64_t k) {
    if constexpr (XH) return cvtph512(load256(xh + i * K + k));
    else return _mm512_loadu_ps(x + i * K + k);
  };
  const int64_t np = K & ~(int64_t)31;
  __m512 A[RN][RM], B[RN][RM];
  for (int r = 0; r < RN; ++r)
    for (int i = 0; i < RM; ++i) A[r][i] = B[r][i] = _mm512_setzero_ps();
  // pf: lines of the next weight rows, pulled into L2 a few per step while this tile computes
  const int64_t per_step = pf_lines > 0 ? (pf_lines * 32 + np - 1) / std::max<int64_t>(np, 32) : 0;
  int64_t line = 0;
  for (int64_t k = 0; k < np; k += 32) {
    for (int64_t j = 0; j < per_step && line < pf_lines; ++j) _mm_prefetch(pf + 64 * line++, _MM_HINT_T1);
    if constexpr (RM == 1 && !STREAM) {
      // scattered rows (matmulFloatPicked): the caller prefetches them; nothing past the row is read next
    } else if constexpr (RM == 1)  // decode: each weight read once, not to be kept (see avx512::prefetch_stream), and from
      // DRAM: PF ahead, as the ternary kernels (1 KB ahead streamed the F16 output at ~67 GB/s where PF
      // reached ~83, with the probe at ~85)
      for (int r = 0; r < RN; ++r) _mm_prefetch((const char*)(w[r] + 2 * k + PF), _MM_HINT_NTA);
    else
      for (int r = 0; r < RN; ++r) _mm_prefetch((const char*)(w[r] + 2 * k + 1024), _MM_HINT_T0);
    if constexpr (RN * RM > 8) {
      // Large tiles: the A half (k + 0..15) then the B half (k + 16..31), RN converted vectors live at a
      // time instead of 2·RN (4 × 4: 32 accumulators, so a few spill to L1 whatever the order).
      __m512 wv[RN];
      for (int r = 0; r < RN; ++r) wv[r] = cvtph512(load256(w[r] + 2 * k));
      for (int i = 0; i < RM; ++i) {
        const __m512 xa = xload(i, k);
        for (int r = 0; r < RN; ++r) A[r][i] = _mm512_fmadd_ps(wv[r], xa, A[r][i]);
      }
      for (int r = 0; r < RN; ++r) wv[r] = cvtph512(load256(w[r] + 2 * k + 32));
      for (int i = 0; i < RM; ++i) {
        const __m512 xb = xload(i, k + 16);
        for (int r = 0; r < RN; ++r) B[r][i] = _mm512_fmadd_ps(wv[r], xb, B[r][i]);
      }
    } else {
      __m512 wa[RN], wb[RN];
      for (int r = 0; r < RN; ++r) {
        wa[r] = cvtph512(load256(w[r] + 2 * k));
        wb[r] = cvtph512(load256(w[r] + 2 * k + 32));
      }
      for (int i = 0; i < RM; ++i) {
        const __m512 xa = _mm512_loadu_ps(x + i * K + k), xb = _mm512_loadu_ps(x + i * K + k + 16);
        for (int r = 0; r < RN; ++r) {
          A[r][i] = _mm512_fmadd_ps(wa[r], xa, A[r][i]);
          B[r][i] = _mm512_fmadd_ps(wb[r], xb, B[r][i]);
        }
      }
    }
  }
  for (int r = 0; r < RN; ++r)
    for (int i = 0; i < RM; ++i) {
      const __m256 s0 = _mm512_castps512_ps256(A[r][i]);
      const __m256 s1 = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(A[r][i]), 1));
      const __m256 s2 = _mm512_castps512_ps256(B[r][i]);
      const __m256 s3 = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(B[r][i]), 1));
      const float* xi = x + i * K;
      double sum = f16_reduce_ggml(s0, s1, s2, s3);
      for (int64_t k = np; k < K; ++k) sum += (double)(f16_to_f32(load_u16(w[r] + 2 * k)) * xi[k]);
      out[i * out_stride + r] = (float)sum;
    }
}

/** The last 1..R rows of a column block, in one tile of exactly that many rows. */
template <int RN, int R>
static inline void f16_rest512(int64_t rest, const uint8_t* const* w, const float* x, int64_t K, float* out, int64_t out_stride) {
  if constexpr (R >= 1) {
    if (rest == R) f16_tile512<RN, R>(w, x, K, out, out_stride);
    else f16_rest512<RN, R - 1>(rest, w, x, K, out, out_stride);
  }
}

/**
 * RN weight rows × all M activation rows: RM rows at a time, then the last 1..RM-1 rows in one tile.
 * With several activation rows, the weight rows after these (up to n1) are prefetched into L2 across the tiles, so
 * the next call's first tile does not wait for memory (the software prefetch inside a tile runs only
 * a few steps ahead, too short to hide a DRAM access).
 */
template <int RN, int RM>
static inline void f16_cols512(const FloatMatmulArgs& a, const uint8_t* const* w, int64_t n, int64_t n1 = 0, const uint16_t* xh = nullptr) {
  const int64_t K = a.K;
  const int64_t tiles = a.M / RM;
  const int64_t next_rows = std::min<int64_t>(RN, std::max<int64_t>(0, n1 - (n + RN)));
  const int64_t lines = a.M > 1 && tiles > 0 ? (next_rows * (int64_t)a.row_bytes + 63) / 64 : 0;
  const int64_t per_tile = lines > 0 ? (lines + tiles - 1) / tiles : 0;
  const char* next = (const char*)(a.w + (n + RN) * a.row_bytes);
  int64_t m = 0;
  for (int64_t j = 0; m + RM <= a.M; m += RM, ++j) {
    const int64_t first = std::min(lines, j * per_tile);
    if (xh) f16_tile512<RN, RM, true>(w, a.x + m * K, K, a.out + m * a.N + n, a.N, next + 64 * first, std::min(lines, first + per_tile) - first, xh + m * K);
    else f16_tile512<RN, RM>(w, a.x + m * K, K, a.out + m * a.N + n, a.N, next + 64 * first, std::min(lines, first + per_tile) - first);
  }
  f16_rest512<RN, RM - 1>(a.M - m, w, a.x + m * K, K, a.out + m * a.N + n, a.N);
}

template <int RN, int RM>
static void f16_rows512(const FloatMatmulArgs& args, int64_t n0, int64_t n1) {
  // Tiles of 3 or 4 rows read the activations as f16 when every value is one (callers round x to f16,
  // as ggml does) and args.x_f16 allows it: 8 rows then take 40 KB instead of 80 and stay in L1.
  // Otherwise (or for a NaN) as f32, from a 64-byte aligned copy when x is not aligned: 8 × 128256 ×
  // 2560 on Zen 4 took ~27.2 ms from an aligned x and ~30 from one 16 or 48 bytes past a line start
  // (every zmm load split across two lines). Either way the tile computes on the same f32 values.
  const bool try_f16 = RM > 2 && args.x_f16;
  const bool copy_f32 = !try_f16 && RM > 1 && reinterpret_cast<uintptr_t>(args.x) % 64 != 0;
  Scratch xs(try_f16 ? (size_t)(args.M * args.K * 2) : copy_f32 ? (size_t)(args.M * args.K * 4) : 0);
  const uint16_t* xh = try_f16 && f16_copy_if_exact(args.x, args.M * args.K, reinterpret_cast<uint16_t*>(xs.p)) ? reinterpret_cast<uint16_t*>(xs.p) : nullptr;
  FloatMatmulArgs a = args;
  if (copy_f32) {
    std::memcpy(xs.p, args.x, (size_t)(args.M * args.K) * sizeof(float));
    a.x = reinterpret_cast<const float*>(xs.p);
  }
  const uint8_t* w[RN];
  int64_t n = n0;
  if constexpr (RN == 1 && RM == 1) {
    if (args.scattered_rows) {
      for (; n < n1; ++n) {
        w[0] = a.w + n * a.row_bytes;
        f16_tile512<1, 1, false, false>(w, a.x, a.K, a.out + n, a.N);
      }
      return;
    }
  }
  for (; n + RN <= n1; n += RN) {
    for (int r = 0; r < RN; ++r) w[r] = a.w + (n + r) * a.row_bytes;
    _mm_prefetch((const char*)(w[RN - 1] + a.row_bytes), _MM_HINT_T0);
    f16_cols512<RN, RM>(a, w, n, n1, xh);
  }
  for (; n < n1; ++n) {
    w[0] = a.w + n * a.row_bytes;
    f16_cols512<1, RM>(a, w, n);
  }
}

/** One row: a weight row at a time (bound by memory; measured faster than 2 or 4 at a time on Zen 4).
 *  2 rows: one tile of 4 weight rows × 2 activation rows (16 accumulators + 8 converted weight vectors
 *  + 2 x vectors of the 32 zmm registers).
 *  3 rows: one 4 × 3 tile; 4 or more: 4 × 4 tiles (a few of the 32 accumulators spill to L1), then one
 *  tile of the last 1..3 rows. Each converted weight vector serves 3 or 4 rows instead of 2, and the
 *  weight rows are re-read half as often. Zen 5, N = 128256, K = 2560: 8 rows ~17.7-18.5 ms instead of
 *  ~20.5-21 on 2 threads (L3-resident weights: -14%); 3 rows -13..19% on 1 thread. 4 × 4 beat 4 × 3,
 *  5 × 3, 5 × 4, 3 × 4, 3 × 6, 2 × 4..2 × 8 and 4 × 8 for 8 rows; 2 × 4 × 3 tied 4 × 4 + 4 × 2 for 6.
 *  With the activations read as f16 (f16_rows512), 8 rows ~14.5 ms instead of ~17.8 and 16 rows ~28
 *  instead of ~36.5; 4 rows as one 4 × 4 tile then ties 4 × 2 tiles with f32 activations (was −9%). */
static void matmul_f16_tiles512(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  if (a.M == 1) f16_rows512<1, 1>(a, n0, n1);
  else if (a.M == 2) f16_rows512<4, 2>(a, n0, n1);
  else if (a.M == 3) f16_rows512<4, 3>(a, n0, n1);
  else f16_rows512<4, 4>(a, n0, n1);
}

// The table entries are the template instances themselves (pointers, not wrappers calling them): the
// compiler then builds each instance as one function, as it did when the table named them directly;
// a wrapper let it inline the whole loop, measured a few percent slower for Q6_K.
extern const FloatMatmulFn matmul_f32_512 = matmul_float512<Load512F32>;
extern const FloatMatmulFn matmul_bf16_512 = matmul_float512<Load512BF16>;
extern const FloatMatmulFn matmul_f16_512 = matmul_f16_tiles512;


// Q8_0 / Q4_K / Q6_K: the AVX2 tables' dequantize-then-tile loop (same 8-lane arithmetic, same bits),
// compiled here so that the row decoders vectorize with 512-bit registers.
extern const FloatMatmulFn matmul_q8_0_f32 = matmul_quant_simd<dequant_row_q8_0>;
extern const FloatMatmulFn matmul_q4_k_f32 = matmul_quant_simd<dequant_row_q4_k>;
extern const FloatMatmulFn matmul_q6_k_f32 = matmul_quant_simd<dequant_row_q6_k>;

}  // namespace avx512

}  // namespace bitnet
