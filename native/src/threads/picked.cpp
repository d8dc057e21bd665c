// matmulFloatPicked: chosen elements of a float matmul (a few hundred logits of a large output
// matrix). Each pick runs the table's matmul_f32 on a one-row view of the weights; every kernel
// computes an element from its weight row and activation row alone (its tiles share loads, never
// accumulators, and no kernel's arithmetic for an element depends on the call's N or M), so a pick
// has the bits of the same element of the whole product.
//
// Picks come sorted by weight row (the screen lists candidate tokens in order, row by row, then
// merges them), so the same weight row is often picked for several activation rows in a row: a run of
// picks with one weight row and consecutive activation rows m, m + 1, ... is one call on the view of
// those activation rows (x + m·K, M = the run's length), which writes the run's outputs in place (N = 1:
// out[i·N] = out[j + i]) and converts / loads each weight vector once for all of them. The weight rows
// are scattered over the matrix (a 2560-wide F16 row is 5 KB of a 656 MB matrix), too far apart for
// the hardware prefetchers: the calling loop prefetches the rows of the next kAhead distinct weight
// rows while the kernel computes the current one. The picks are split over the threads in contiguous
// ranges (at run boundaries), each thread walking its range in order.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "../dispatch/dispatch.h"
#include "drivers.h"
#include "thread_pool.h"

namespace bitnet {

namespace {

/** The count from which the pool is used (below it waking threads costs more). */
constexpr int64_t kInlinePicks = 256;
/** Distinct weight rows prefetched ahead of the one being computed. */
constexpr int kAhead = 4;

/** Prefetches the `bytes` from p into L2 (a hint only: never faults). */
inline void prefetch_row(const uint8_t* p, size_t bytes) {
  for (size_t o = 0; o < bytes; o += 64) __builtin_prefetch(p + o, 0, 2);
}

/** x copied to a 64-byte aligned buffer when it is not aligned (the tiles of several activation rows
 *  otherwise copy their rows at every call): same values, same bits. */
struct AlignedX {
  const float* x;
  float* own = nullptr;
  AlignedX(const float* src, size_t n) : x(src) {
    if (reinterpret_cast<uintptr_t>(src) % 64 == 0 || n == 0) return;
    own = static_cast<float*>(std::aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64));
    if (!own) throw std::bad_alloc();
    std::memcpy(own, src, n * sizeof(float));
    x = own;
  }
  ~AlignedX() { std::free(own); }
  AlignedX(const AlignedX&) = delete;
  AlignedX& operator=(const AlignedX&) = delete;
};

}  // namespace

void matmul_float_picked(const TensorType& type, const uint8_t* w, int64_t K, const float* x_in, const int32_t* w_row, const int32_t* x_row,
                         int64_t P, float* out) {
  if (P == 0) return;
  const FloatMatmulFn fn = table().types[type.id].matmul_f32;
  const size_t rb = row_bytes(type, K);
  int64_t M = 0;  // the activation rows the picks use
  for (int64_t j = 0; j < P; ++j) M = std::max<int64_t>(M, (int64_t)x_row[j] + 1);
  const AlignedX ax(x_in, (size_t)(M * K));
  const float* x = ax.x;
  auto picks = [&](int64_t j0, int64_t j1) {
    FloatMatmulArgs a{};
    a.row_bytes = rb;
    a.K = K;
    a.N = 1;
    a.x_f16 = false;  // read the activations as f32, as one row at a time does
    a.scattered_rows = true;
    // The prefetch cursor: the start of the next run of one weight row not yet prefetched.
    int64_t pf = j0;
    int ahead = 0;  // distinct rows prefetched past the current one
    auto prefetch_next = [&] {
      if (pf >= j1) return;
      const int32_t r = w_row[pf];
      prefetch_row(w + (size_t)r * rb, rb);
      while (pf < j1 && w_row[pf] == r) ++pf;
      ++ahead;
    };
    while (ahead < kAhead + 1) {
      if (pf >= j1) break;
      prefetch_next();
    }
    for (int64_t j = j0; j < j1;) {
      const int32_t r = w_row[j];
      int64_t e = j + 1;
      while (e < j1 && w_row[e] == r) ++e;
      // The run [j, e) of weight row r; its next run is the next distinct row: prefetch one more.
      --ahead;
      prefetch_next();
      a.w = w + (size_t)r * rb;
      while (j < e) {
        int64_t g = j + 1;  // consecutive activation rows: one call
        while (g < e && x_row[g] == x_row[g - 1] + 1) ++g;
        a.M = g - j;
        a.x = x + (int64_t)x_row[j] * K;
        a.out = out + j;
        fn(a, 0, 1);
        j = g;
      }
    }
  };
  ThreadPool& pool = ThreadPool::instance();
  const int64_t T = pool.size();
  if (P <= kInlinePicks || T == 1) {
    picks(0, P);
    return;
  }
  // T contiguous ranges of about P / T picks, each ending at a run boundary (a run is never split).
  int64_t bound[257];
  bound[0] = 0;
  for (int64_t t = 1; t < T; ++t) {
    int64_t b = std::max(bound[t - 1], P * t / T);
    while (b > 0 && b < P && w_row[b] == w_row[b - 1]) ++b;
    bound[t] = b;
  }
  bound[T] = P;
  pool.parallel_for(T, [&](int64_t t) { picks(bound[t], bound[t + 1]); });
}

}  // namespace bitnet
