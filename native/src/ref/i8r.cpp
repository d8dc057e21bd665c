// The screened output's reference kernels (api/Kernels.ts: matmulI8rI8, encodeI8rRows,
// screenBoundsI8r, screenCandidates). The row kernels are core/i8r_rows.h compiled with the baseline
// flags; the SIMD tables use the same header with theirs.
#include <cmath>
#include <cstdint>

#include "../core/i8r_rows.h"
#include "ref.h"

namespace bitnet {
namespace ref {

void matmul_i8r_i8_ref(const I8rMatmulArgs& a, int64_t n0, int64_t n1) {
  const int64_t K = a.K;
  for (int64_t m = 0; m < a.M; ++m) {
    const int8_t* q = a.q + m * K;
    for (int64_t n = n0; n < n1; ++n) {
      const uint8_t* c = a.codes + n * K;
      int32_t S = 0;  // |S| ≤ 255 · 128 · 32768 < 2^31
      for (int64_t k = 0; k < K; ++k) S += (int32_t)c[k] * (int32_t)q[k];
      a.out[m * a.N + n] = i8r::out_value(S, a.sum[m], a.scale[m], a.wscale[n]);
    }
  }
}

void encode_i8r_row_ref(const float* x, int64_t K, uint8_t* codes, float* scale) { i8r::encode_row(x, K, codes, scale); }

void screen_bounds_i8r_row_ref(const float* w, const uint8_t* codes, float scale, int64_t K, float* out) { i8r::bounds_row(w, codes, scale, K, out); }

int64_t screen_candidates_ref(const float* a, const float* bounds, int64_t V, double c0, double c1, int32_t* ids, int64_t capacity) {
  // Pass 1: the floor (max of lo) in 4 lanes (max is exact and order-free); any NaN lo: −1.
  double fl[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
  bool nan = false;
  int64_t n = 0;
  for (; n + 4 <= V; n += 4)
    for (int l = 0; l < 4; ++l) {
      const double lo = (double)a[n + l] - i8r::screen_bound(bounds, n + l, c0, c1);
      nan |= lo != lo;
      fl[l] = lo > fl[l] ? lo : fl[l];
    }
  for (; n < V; ++n) {
    const double lo = (double)a[n] - i8r::screen_bound(bounds, n, c0, c1);
    nan |= lo != lo;
    fl[0] = lo > fl[0] ? lo : fl[0];
  }
  if (nan) return -1;
  double floor = fl[0];
  for (int l = 1; l < 4; ++l) floor = fl[l] > floor ? fl[l] : floor;
  if (!std::isfinite(floor)) return -1;
  const double reach = i8r::screen_reach(floor);
  // Pass 2: the ids whose up reaches it, ascending.
  int64_t count = 0;
  for (n = 0; n < V; ++n)
    if (!i8r::keep_if_reaching(a, bounds, n, c0, c1, reach, ids, capacity, count)) return -2;
  return count;
}

}  // namespace ref
}  // namespace bitnet
