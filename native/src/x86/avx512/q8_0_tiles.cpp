// AVX-512 VNNI Q8_0 × Q8_0 for several activation rows (the optional Q8_0 output matrix in batched
// decode): register tiles of RN weight rows × RP activation pairs. One activation row keeps the AVX2
// kernel (it is bound by the weight stream, and a zmm would hold one row and a zero partner).
//
// Exactness (the contract of matmul_q8_0_q8_0_ref, ggml_vec_dot_q8_0_q8_0): per 32-block b and lane k,
// L = Σ qw·qa over elements 4k .. 4k+3, then acc_k = fmaf(float(L), fround(dw·da), acc_k) in block order
// and ggml_hsum8 at the end. vpdpbusd multiplies u8 by s8, so the weights enter as qw + 128 (qw xor
// 0x80, a u8 in 0..255) and each lane's accumulator starts at −128·Σqa of its four activations, built
// once per call: the lane comes out as exactly Σ qw·qa (|Σ (qw+128)·qa| ≤ 4·255·127, no overflow, and
// the conversion to f32 is exact below 2^24). A zmm holds two activation rows of one block ([row 2P's 8
// lanes | row 2P+1's]); every operation on it is element-wise, so each half rounds as the 256-bit
// kernel does and a row's result never depends on its partner, its tile or the row count.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../../core/kernel_table.h"
#include "../../core/scalar.h"
#include "../../core/tensor_types.h"
#include "../avx2/kernels.h"
#include "../avx2/simd.h"
#include "kernels.h"
#include "simd512.h"

namespace bitnet {
namespace avx512 {

namespace {

constexpr int Q8_RN = 4, Q8_RP = 4;

/**
 * Q8_0's ActivationPairs: for block b, at index (P·nb + b), 64 bytes [row 2P's 32 quants | row 2P+1's]
 * in xp, 16 int32 [−128·Σ4 of row 2P's lanes | row 2P+1's] in sums (bias here), 16 f32 [da ×8 | da ×8]
 * in da.
 */
inline void pack_q8_pairs(const Q8_0MatmulArgs& a, int8_t* xp, int32_t* bias, float* da) {
  const int64_t nb = a.K / QK8_0;
  pack_pairs(a.M, nb, 1, xp, bias, da, [&](int64_t m, int64_t b, int8_t* x, int32_t* g, float* d) {
    const int8_t* src = a.q + m * a.K + b * QK8_0;
    std::memcpy(x, src, 32);
    for (int k = 0; k < 8; ++k) g[k] = -128 * (src[4 * k] + src[4 * k + 1] + src[4 * k + 2] + src[4 * k + 3]);
    for (int k = 0; k < 8; ++k) d[k] = a.d[m * nb + b];
  });
}

/** Weight rows n .. n+RN−1 × activation pairs P .. P+RP−1. */
template <bool L2, int RN, int RP>
inline void q8_tile(const Q8_0MatmulArgs& a, const ActivationPairs& t, int64_t n, int64_t P) {
  const int64_t nb = a.K / QK8_0;
  const __m512i flip = _mm512_set1_epi8((char)0x80);
  const uint8_t* w[RN];
  for (int r = 0; r < RN; ++r) w[r] = a.w + (n + r) * a.row_bytes;
  __m512 acc[RN][RP];
  for (int r = 0; r < RN; ++r)
    for (int j = 0; j < RP; ++j) acc[r][j] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m512i wu[RN];
    __m512 dw[RN];
    for (int r = 0; r < RN; ++r) {
      const uint8_t* wb = w[r] + b * Q8_0_BYTES;
      prefetch_tile<L2>(wb);
      wu[r] = _mm512_xor_si512(_mm512_broadcast_i64x4(load256(wb + 2)), flip);
      dw[r] = _mm512_set1_ps(_cvtsh_ss(load_u16(wb)));
    }
    for (int j = 0; j < RP; ++j) {
      const int64_t i = (P + j) * nb + b;
      const __m512i x = load512(t.xp + i * 64), g = load512(t.sums + i * 16);
      const __m512 da = _mm512_loadu_ps(t.da + i * 16);
      for (int r = 0; r < RN; ++r)
        acc[r][j] = _mm512_fmadd_ps(cvtepi32_512(dpbusd512(g, wu[r], x)), _mm512_mul_ps(da, dw[r]), acc[r][j]);
    }
  }
  for (int j = 0; j < RP; ++j) {
    const int64_t m = 2 * (P + j);
    for (int r = 0; r < RN; ++r) {
      a.out[m * a.N + n + r] = hsum_lo(acc[r][j]);
      if (m + 1 < a.M) a.out[(m + 1) * a.N + n + r] = hsum_hi(acc[r][j]);
    }
  }
}

}  // namespace

void matmul_q8_0_q8_0_512(const Q8_0MatmulArgs& a, int64_t n0, int64_t n1) {
  if (a.M == 1) {
    avx2::matmul_q8_0_q8_0(a, n0, n1);
    return;
  }
  const int64_t nb = a.K / QK8_0, pairs = (a.M + 1) / 2;
  Scratch xs((size_t)(pairs * nb * 64), 0), gs((size_t)(pairs * nb * 64), 1), ds((size_t)(pairs * nb * 64), 2);
  int32_t* bias = reinterpret_cast<int32_t*>(gs.p);
  float* da = reinterpret_cast<float*>(ds.p);
  pack_q8_pairs(a, xs.p, bias, da);
  const ActivationPairs t{xs.p, bias, da, pairs};
  sweep_pair_tiles<Q8_RN, Q8_RP>(a.stream_l2, a.row_bytes, pairs, n0, n1, [&](auto l2, int64_t n, int64_t P, auto rn, auto rp) {
    q8_tile<decltype(l2)::value, decltype(rn)::value, decltype(rp)::value>(a, t, n, P);
  });
}

}  // namespace avx512
}  // namespace bitnet
