// How work is split across the thread pool: by output rows of a matmul, by rows of a row-wise
// kernel, by blocks of a load-time conversion. Small jobs stay on the calling thread.
#pragma once

#include <algorithm>
#include <cstdint>

#include "thread_pool.h"

namespace bitnet {
namespace {

/** Splits [0, N) into chunks (multiples of 16 rows) and runs fn(n0, n1) on the pool. */
template <class F>
inline void split_rows(int64_t N, int64_t bytes_per_row_all_m, F&& fn) {
  ThreadPool& pool = ThreadPool::instance();
  const int threads = pool.size();
  // Small jobs run inline: waking another core costs more than it saves below ~64 KiB.
  if (threads == 1 || N <= 16 || N * bytes_per_row_all_m < (64 << 10)) {
    fn((int64_t)0, N);
    return;
  }
  int64_t chunk = (N + threads * 4 - 1) / (threads * 4);
  chunk = (chunk + 15) / 16 * 16;
  const int64_t tasks = (N + chunk - 1) / chunk;
  pool.parallel_for(tasks, [&](int64_t t) {
    const int64_t n0 = t * chunk;
    fn(n0, std::min(N, n0 + chunk));
  });
}

/** Runs fn(r) for every row, on the pool when the rows are many and long enough to pay for it. */
template <class F>
inline void for_rows(int64_t rows, int64_t cols, F&& fn) {
  ThreadPool& pool = ThreadPool::instance();
  if (rows < 2 || pool.size() == 1 || rows * cols < (1 << 16)) {
    for (int64_t r = 0; r < rows; ++r) fn(r);
    return;
  }
  const int64_t tasks = std::min<int64_t>(rows, pool.size() * 4);
  const int64_t per = (rows + tasks - 1) / tasks;
  pool.parallel_for(tasks, [&](int64_t t) {
    for (int64_t r = t * per; r < std::min(rows, (t + 1) * per); ++r) fn(r);
  });
}

/** Runs fn(b) for every block of a load-time conversion, 16384 blocks per pool task. */
template <class F>
inline void for_blocks(int64_t blocks, F&& fn) {
  const int64_t per_task = 1 << 14;
  const int64_t tasks = (blocks + per_task - 1) / per_task;
  auto run = [&](int64_t t) {
    const int64_t b1 = std::min(blocks, (t + 1) * per_task);
    for (int64_t b = t * per_task; b < b1; ++b) fn(b);
  };
  if (tasks <= 1) {
    for (int64_t t = 0; t < tasks; ++t) run(t);
    return;
  }
  ThreadPool::instance().parallel_for(tasks, [&](int64_t t) { run(t); });
}

}  // namespace
}  // namespace bitnet
