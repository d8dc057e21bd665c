// matmulFloatPicked: chosen elements of a float matmul (a few hundred logits of a large output
// matrix). Each pick runs the table's matmul_f32 on a one-row view of the weights and one activation
// row; every kernel computes an element from its weight row and activation row alone (its tiles share
// loads, never accumulators), so a pick has the bits of the same element of the whole product.
#include <algorithm>
#include <cstdint>

#include "../dispatch/dispatch.h"
#include "drivers.h"
#include "thread_pool.h"

namespace bitnet {

namespace {

/** Picks per pool task, and the count from which the pool is used (below it waking threads costs more). */
constexpr int64_t kPicksPerTask = 64;
constexpr int64_t kInlinePicks = 256;

}  // namespace

void matmul_float_picked(const TensorType& type, const uint8_t* w, int64_t K, const float* x, const int32_t* w_row, const int32_t* x_row,
                         int64_t P, float* out) {
  if (P == 0) return;
  const FloatMatmulFn fn = table().types[type.id].matmul_f32;
  const size_t rb = row_bytes(type, K);
  auto picks = [&](int64_t j0, int64_t j1) {
    FloatMatmulArgs a{};
    a.row_bytes = rb;
    a.K = K;
    a.N = 1;
    a.M = 1;
    a.x_f16 = false;  // one activation row: no kernel reads it as f16
    for (int64_t j = j0; j < j1; ++j) {
      a.w = w + (size_t)w_row[j] * rb;
      a.x = x + (int64_t)x_row[j] * K;
      a.out = out + j;
      fn(a, 0, 1);
    }
  };
  ThreadPool& pool = ThreadPool::instance();
  if (P <= kInlinePicks || pool.size() == 1) {
    picks(0, P);
    return;
  }
  const int64_t tasks = (P + kPicksPerTask - 1) / kPicksPerTask;
  pool.parallel_for(tasks, [&](int64_t t) { picks(t * kPicksPerTask, std::min(P, (t + 1) * kPicksPerTask)); });
}

}  // namespace bitnet
