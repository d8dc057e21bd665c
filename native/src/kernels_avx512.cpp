// AVX-512 kernels (compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni
// -mavx512bf16 -mfma -mf16c). Selected when the CPU has all of these and the OS saves ZMM/opmask
// state. Ternary matmuls use 512-bit vpdpbusd (u8 codes × s8 activations, exact int32
// accumulation); everything else comes from the AVX2 bodies (simd_avx2.inl) or the portable code,
// compiled with these flags.
//
// I2_S: each 2-bit field is masked in place (w & 0xC0, 0x30, 0x0C, 0x03 — no shifts) into its own
// accumulator, and the four are scaled by 1/64, 1/16, 1/4, 1 at the end (exact: every term is a
// multiple of its scale; K ≤ 2^18 keeps |Σ| < 2^31). Activations are repacked once per call so that
// one 64-byte load feeds one vpdpbusd against two 32-byte weight blocks.
//
// BITNET_AVX512_EMULATED (test-only build, see CMakeLists.txt): the same code is compiled for AVX2
// with SIMDe implementing the AVX-512 intrinsics, so machines without AVX-512 can test it.
#if defined(BITNET_AVX512_EMULATED)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <simde/x86/f16c.h>
#include <simde/x86/fma.h>
#else
#include <immintrin.h>
#endif

#include <cstdlib>
#include <cstring>

#include "common.h"
#include "kernels.h"

namespace bitnet {
namespace avx512 {
namespace {
#include "kernels_portable.inl"
#include "simd_avx2.inl"

// ---- 512-bit helpers (a few are missing from SIMDe 0.7: composed from 256-bit halves there) ----------

static inline __m512i load512(const void* p) { return _mm512_loadu_si512(p); }

static inline __m256i fold512(__m512i v) {
  return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
}
static inline int32_t hsum512_i32(__m512i v) { return hsum_i32(fold512(v)); }

static inline float hsum512_ps(__m512 v) {
  const __m512i b = _mm512_castps_si512(v);
  return hsum_f32(_mm256_add_ps(_mm256_castsi256_ps(_mm512_castsi512_si256(b)), _mm256_castsi256_ps(_mm512_extracti64x4_epi64(b, 1))));
}

static inline __m512i join256(__m256i lo, __m256i hi) { return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1); }

static inline __m512 cvtph512(__m256i h) {
#if defined(BITNET_AVX512_EMULATED)
  const __m256 lo = _mm256_cvtph_ps(_mm256_castsi256_si128(h)), hi = _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1));
  return _mm512_castsi512_ps(join256(_mm256_castps_si256(lo), _mm256_castps_si256(hi)));
#else
  return _mm512_cvtph_ps(h);
#endif
}

static inline __m512i cvtepu16_512(__m256i h) {
#if defined(BITNET_AVX512_EMULATED)
  return join256(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(h)), _mm256_cvtepu16_epi32(_mm256_extracti128_si256(h, 1)));
#else
  return _mm512_cvtepu16_epi32(h);
#endif
}

/** Scratch that lives for one kernel call on one thread (activations repacked for zmm loads). */
struct Scratch {
  int8_t* p = nullptr;
  explicit Scratch(size_t n) { p = static_cast<int8_t*>(std::aligned_alloc(64, (n + 63) / 64 * 64 + 64)); }
  ~Scratch() { std::free(p); }
};

// ---- I2_S × int8 -------------------------------------------------------------------------------------

/**
 * Repacks one activation row for zmm: for the block pair (2p, 2p+1) and group g (values 32g..32g+31
 * of a block), 64 bytes = [block 2p group g | block 2p+1 group g] at dst + 256p + 64g. A trailing odd
 * block is left to the 256-bit path (which reads the original row).
 */
static inline void repack_i2s_row(const int8_t* q, int64_t K, int8_t* dst) {
  for (int64_t p = 0; p < K / 256; ++p)
    for (int g = 0; g < 4; ++g) {
      std::memcpy(dst + 256 * p + 64 * g, q + 256 * p + 32 * g, 32);
      std::memcpy(dst + 256 * p + 64 * g + 32, q + 256 * p + 128 + 32 * g, 32);
    }
}

template <int RM>
static inline void i2s_row512(const TernaryMatmulArgs& a, int64_t n, int64_t m, const int8_t* qp) {
  const int64_t pairs = a.K / 256;
  const uint8_t* w = a.w + n * a.row_bytes;
  const __m512i mk0 = _mm512_set1_epi8((char)0xC0), mk1 = _mm512_set1_epi8(0x30), mk2 = _mm512_set1_epi8(0x0C), mk3 = _mm512_set1_epi8(0x03);
  __m512i acc[RM][4];
  for (int i = 0; i < RM; ++i)
    for (int g = 0; g < 4; ++g) acc[i][g] = _mm512_setzero_si512();
  for (int64_t p = 0; p < pairs; ++p) {
    _mm_prefetch((const char*)(w + 64 * p + PF), _MM_HINT_T0);
    const __m512i wv = load512(w + 64 * p);
    const __m512i f0 = _mm512_and_si512(wv, mk0), f1 = _mm512_and_si512(wv, mk1);
    const __m512i f2 = _mm512_and_si512(wv, mk2), f3 = _mm512_and_si512(wv, mk3);
    for (int i = 0; i < RM; ++i) {
      const int8_t* qb = qp + (m + i) * a.K + 256 * p;
      acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], f0, load512(qb));
      acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], f1, load512(qb + 64));
      acc[i][2] = _mm512_dpbusd_epi32(acc[i][2], f2, load512(qb + 128));
      acc[i][3] = _mm512_dpbusd_epi32(acc[i][3], f3, load512(qb + 192));
    }
  }
  int32_t dot[RM];
  for (int i = 0; i < RM; ++i)
    dot[i] = (hsum512_i32(acc[i][0]) >> 6) + (hsum512_i32(acc[i][1]) >> 4) + (hsum512_i32(acc[i][2]) >> 2) + hsum512_i32(acc[i][3]);
  if (a.K % 256) {  // one trailing 128-block: 256-bit vpdpbusd on the original activation layout
    const int64_t b = a.K / QK_I2S - 1;
    const __m256i wv = load256(w + 32 * b);
    const __m256i f0 = _mm256_and_si256(wv, _mm256_set1_epi8((char)0xC0)), f1 = _mm256_and_si256(wv, _mm256_set1_epi8(0x30));
    const __m256i f2 = _mm256_and_si256(wv, _mm256_set1_epi8(0x0C)), f3 = _mm256_and_si256(wv, _mm256_set1_epi8(0x03));
    for (int i = 0; i < RM; ++i) {
      const int8_t* qb = a.q + (m + i) * a.K + QK_I2S * b;
      const __m256i z = _mm256_setzero_si256();
      dot[i] += (hsum_i32(_mm256_dpbusd_epi32(z, f0, load256(qb))) >> 6) + (hsum_i32(_mm256_dpbusd_epi32(z, f1, load256(qb + 32))) >> 4) +
                (hsum_i32(_mm256_dpbusd_epi32(z, f2, load256(qb + 64))) >> 2) + hsum_i32(_mm256_dpbusd_epi32(z, f3, load256(qb + 96)));
    }
  }
  for (int i = 0; i < RM; ++i) {
    const int64_t mi = m + i;
    a.out[mi * a.N + n] = i2s_epilogue(dot[i], a.sum[mi], a.scale[mi], a.wscale);
  }
}

static void matmul_i2s_i8_512(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  Scratch s((size_t)(a.M * a.K));
  for (int64_t m = 0; m < a.M; ++m) repack_i2s_row(a.q + m * a.K, a.K, s.p + m * a.K);
  for (int64_t n = n0; n < n1; ++n) {
    int64_t m = 0;
    for (; m + 4 <= a.M; m += 4) i2s_row512<4>(a, n, m, s.p);
    for (; m < a.M; ++m) i2s_row512<1>(a, n, m, s.p);
  }
}

// ---- TQ2_0 × Q8_K --------------------------------------------------------------------------------------

/** For block b and field n: 64 bytes [values 32n.. of half 0 | values 128 + 32n.. of half 1] at dst + 256b + 64n. */
static inline void repack_tq2_row(const int8_t* q, int64_t K, int8_t* dst) {
  for (int64_t b = 0; b < K / QK_K; ++b)
    for (int f = 0; f < 4; ++f) {
      std::memcpy(dst + 256 * b + 64 * f, q + 256 * b + 32 * f, 32);
      std::memcpy(dst + 256 * b + 64 * f + 32, q + 256 * b + 128 + 32 * f, 32);
    }
}

template <int RM>
static inline void tq2_row512(const TernaryMatmulArgs& a, int64_t n, int64_t m, const int8_t* qp) {
  const int64_t nb = a.K / QK_K;
  const uint8_t* w = a.w + n * a.row_bytes;
  const __m512i m3 = _mm512_set1_epi8(3);
  __m256 acc[RM];
  for (int i = 0; i < RM; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = w + b * TQ2_0_BYTES;
    _mm_prefetch((const char*)(wb + PF), _MM_HINT_T0);
    _mm_prefetch((const char*)(wb + PF + 64), _MM_HINT_T0);
    const __m512i wv = load512(wb);  // qs[0..63]: byte 32c + j, field n at bits 2n
    const __m512i f0 = _mm512_and_si512(wv, m3);
    const __m512i f1 = _mm512_and_si512(_mm512_srli_epi16(wv, 2), m3);
    const __m512i f2 = _mm512_and_si512(_mm512_srli_epi16(wv, 4), m3);
    const __m512i f3 = _mm512_and_si512(_mm512_srli_epi16(wv, 6), m3);
    const float dw = _cvtsh_ss(load_u16(wb + 64));
    for (int i = 0; i < RM; ++i) {
      const int8_t* qb = qp + (m + i) * a.K + 256 * b;
      __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), f0, load512(qb));
      s = _mm512_dpbusd_epi32(s, f1, load512(qb + 64));
      s = _mm512_dpbusd_epi32(s, f2, load512(qb + 128));
      s = _mm512_dpbusd_epi32(s, f3, load512(qb + 192));
      // fold512: int32 lane k = bytes 4k..4k+3 of both halves = ggml's lane k (elements (e mod 32) >> 2 == k)
      const int64_t blk = (m + i) * nb + b;
      acc[i] = tq_lane_epilogue(acc[i], fold512(s), a.sum + blk * 8, dw, a.scale[blk]);
    }
  }
  for (int i = 0; i < RM; ++i) a.out[(m + i) * a.N + n] = hsum_f32(acc[i]);
}

/** Decode: one row × one activation row (the shared AVX2 lane epilogue). */
static inline void tq2_row512_1(const TernaryMatmulArgs& a, int64_t n, const int8_t* qp) {
  const int64_t nb = a.K / QK_K;
  const uint8_t* w = a.w + n * a.row_bytes;
  const __m512i m3 = _mm512_set1_epi8(3);
  auto block = [&](int64_t b) {
    const uint8_t* wb = w + b * TQ2_0_BYTES;
    _mm_prefetch((const char*)(wb + PF), _MM_HINT_T0);
    _mm_prefetch((const char*)(wb + PF + 64), _MM_HINT_T0);
    const __m512i wv = load512(wb);
    const int8_t* qb = qp + 256 * b;
    __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(wv, m3), load512(qb));
    s = _mm512_dpbusd_epi32(s, _mm512_and_si512(_mm512_srli_epi16(wv, 2), m3), load512(qb + 64));
    s = _mm512_dpbusd_epi32(s, _mm512_and_si512(_mm512_srli_epi16(wv, 4), m3), load512(qb + 128));
    s = _mm512_dpbusd_epi32(s, _mm512_and_si512(_mm512_srli_epi16(wv, 6), m3), load512(qb + 192));
    return fold512(s);
  };
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) acc = tq_lane_epilogue(acc, block(b), a.sum + b * 8, _cvtsh_ss(load_u16(w + b * TQ2_0_BYTES + 64)), a.scale[b]);
  a.out[n] = hsum_f32(acc);
}

static void matmul_tq2_0_q8k_512(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  Scratch s((size_t)(a.M * a.K));
  if (a.M == 1) {
    repack_tq2_row(a.q, a.K, s.p);
    for (int64_t n = n0; n < n1; ++n) tq2_row512_1(a, n, s.p);
    return;
  }
  for (int64_t m = 0; m < a.M; ++m) repack_tq2_row(a.q + m * a.K, a.K, s.p + m * a.K);
  for (int64_t n = n0; n < n1; ++n) {
    int64_t m = 0;
    for (; m + 4 <= a.M; m += 4) tq2_row512<4>(a, n, m, s.p);
    for (; m < a.M; ++m) tq2_row512<1>(a, n, m, s.p);
  }
}

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

template <class L>
static void matmul_float512(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  if (a.M == 1) float_rows512<L, 4, 1>(a, n0, n1);
  else if (a.M < 4) float_rows512<L, 4, 2>(a, n0, n1);
  else float_rows512<L, 2, 4>(a, n0, n1);
}

static uint64_t stream_read512(const uint8_t* p, size_t n) {
  __m512i a0 = _mm512_setzero_si512(), a1 = a0;
  size_t i = 0;
  for (; i + 128 <= n; i += 128) {
    a0 = _mm512_xor_si512(a0, _mm512_load_si512((const void*)(p + i)));
    a1 = _mm512_xor_si512(a1, _mm512_load_si512((const void*)(p + i + 64)));
  }
  const __m256i x = fold512(_mm512_xor_si512(a0, a1));
  return (uint64_t)_mm256_extract_epi64(x, 0) ^ (uint64_t)_mm256_extract_epi64(x, 1) ^ (uint64_t)_mm256_extract_epi64(x, 2) ^
         (uint64_t)_mm256_extract_epi64(x, 3) ^ (i < n ? stream_read(p + i, n - i) : 0);
}

static KernelTable make_table() {
  // The AVX2 bodies (simd_avx2.inl) compiled with these flags, except where 512 bits pay. TQ1_0 keeps
  // the 256-bit unpack + vpmaddubsw; F16 stays ggml_vec_dot_f16 (AVX2) exactly; Q8_0 × Q8_0 is bound by
  // memory bandwidth, and 256-bit vpmaddubsw reproduces ggml's lanes directly.
  KernelTable t = avx2_table("avx512");
  t.matmul_i2s_i8 = matmul_i2s_i8_512;
  t.matmul_tq2_0_q8k = matmul_tq2_0_q8k_512;
  t.matmul_float[W_F32] = matmul_float512<Load512F32>;
  t.matmul_float[W_BF16] = matmul_float512<Load512BF16>;
  t.stream_read = stream_read512;
  return t;
}

}  // namespace
}  // namespace avx512

const KernelTable* kernel_table_avx512() {
  static const KernelTable t = avx512::make_table();
  return &t;
}

}  // namespace bitnet
