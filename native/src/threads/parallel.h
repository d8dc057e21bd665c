// How work is split across the thread pool: by output rows of a matmul, by rows of a row-wise
// kernel, by blocks of a load-time conversion. Small jobs stay on the calling thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "thread_pool.h"

namespace bitnet {
namespace {

/** Rows per chunk when [0, N) is cut into about `pieces` chunks of a multiple of 16 rows. */
inline int64_t row_chunk(int64_t N, int64_t pieces) { return ((N + pieces - 1) / pieces + 15) / 16 * 16; }

/** Whether split_rows / split_rows_streamed keep a job of N rows on the calling thread (below ~64 KiB waking another core costs more than it saves). */
inline bool rows_inline(int threads, int64_t N, int64_t bytes_per_row) { return threads == 1 || N <= 16 || N * bytes_per_row < (64 << 10); }

/** Splits [0, N) into chunks (multiples of 16 rows) and runs fn(n0, n1) on the pool. */
template <class F>
inline void split_rows(int64_t N, int64_t bytes_per_row_all_m, F&& fn) {
  ThreadPool& pool = ThreadPool::instance();
  const int threads = pool.size();
  if (rows_inline(threads, N, bytes_per_row_all_m)) {
    fn((int64_t)0, N);
    return;
  }
  const int64_t chunk = row_chunk(N, threads * 4);
  const int64_t tasks = (N + chunk - 1) / chunk;
  pool.parallel_for(tasks, [&](int64_t t) {
    const int64_t n0 = t * chunk;
    fn(n0, std::min(N, n0 + chunk));
  });
}

constexpr int kMaxShares = 64;

/**
 * Splits [0, N) for a call that streams its weights once (one activation row: bound by memory). Each
 * thread owns a contiguous share of the rows and claims it front to back in chunks (multiples of 16
 * rows): one sequential stream per thread, whose prefetches run on across its chunks. A thread whose
 * share is done takes chunks from the back of the others', so a thread the OS holds up still cannot
 * hold the call up for long. (split_rows hands out 4 chunks per thread in turn: every chunk a stream
 * that starts cold, ~8 a call, and at 80+ GB/s the ternary calls of a decode step then reached ~66 %
 * of the probe's bandwidth, one share per thread ~72 %.)
 */
template <class F>
inline void split_rows_streamed(int64_t N, int64_t bytes_per_row, F&& fn) {
  ThreadPool& pool = ThreadPool::instance();
  const int shares = std::min(pool.size(), kMaxShares);
  if (rows_inline(shares, N, bytes_per_row)) {
    fn((int64_t)0, N);
    return;
  }
  const int64_t chunk = row_chunk(N, shares * 8);
  const int64_t chunks = (N + chunk - 1) / chunk;  // < 2^32
  // Share i: chunks [front, back) still unclaimed, front in the low 32 bits and back in the high 32 of
  // one word, so that its owner (front) and a thief (back) never claim the same chunk.
  struct alignas(64) Share {
    std::atomic<uint64_t> range;
  };
  Share share[kMaxShares];
  for (int i = 0; i < shares; ++i)
    share[i].range.store((uint64_t)(chunks * i / shares) | (uint64_t)(chunks * (i + 1) / shares) << 32, std::memory_order_relaxed);
  auto claim = [&](int i, bool front) -> int64_t {  // a chunk, or −1 when share i is used up
    uint64_t v = share[i].range.load(std::memory_order_relaxed);
    for (;;) {
      const uint64_t f = v & 0xffffffffu, b = v >> 32;
      if (f >= b) return -1;
      const uint64_t next = front ? (f + 1) | b << 32 : f | (b - 1) << 32;
      if (share[i].range.compare_exchange_weak(v, next, std::memory_order_relaxed)) return (int64_t)(front ? f : b - 1);
    }
  };
  auto rows = [&](int64_t c) { fn(c * chunk, std::min(N, (c + 1) * chunk)); };
  pool.parallel_for(shares, [&](int64_t i) {
    for (int64_t c; (c = claim((int)i, true)) >= 0;) rows(c);
    for (int k = 1; k < shares; ++k)
      for (int64_t c; (c = claim((int)((i + k) % shares), false)) >= 0;) rows(c);
  });
}

/**
 * The row each thread starts at in split_rows (streamed false: its first chunks, one per thread) or
 * split_rows_streamed (its share's first row), at most `max` of them: where a matmul's streams begin.
 */
inline int first_rows(int64_t N, int64_t bytes_per_row, bool streamed, int64_t* starts, int max) {
  const int size = ThreadPool::instance().size();
  const int threads = streamed ? std::min(size, kMaxShares) : size;
  if (rows_inline(threads, N, bytes_per_row)) {
    starts[0] = 0;
    return 1;
  }
  const int64_t chunk = row_chunk(N, threads * (streamed ? 8 : 4));
  const int64_t chunks = (N + chunk - 1) / chunk;
  int n = 0;
  for (int i = 0; i < std::min(threads, max); ++i) {
    const int64_t c = streamed ? chunks * i / threads : i;
    if (c < chunks) starts[n++] = c * chunk;
  }
  return n;
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

/**
 * An element-wise kernel over [0, n): fn(i0, i1) on pieces of 4096 values, on the pool when n is
 * large enough for for_rows (≥ 2^16 values: a prefill chunk's activations, not a decode step's). Each
 * value's arithmetic is the same wherever the pieces fall (they start at multiples of 4096).
 */
template <class F>
inline void for_pieces(int64_t n, F&& fn) {
  constexpr int64_t kPiece = 4096;
  for_rows((n + kPiece - 1) / kPiece, kPiece, [&](int64_t p) { fn(p * kPiece, std::min(n, (p + 1) * kPiece)); });
}

/** Runs fn(b0, b1) over [0, blocks) of a load-time conversion in ranges of 16384 blocks, one per pool task. */
template <class F>
inline void for_block_ranges(int64_t blocks, F&& fn) {
  const int64_t per_task = 1 << 14;
  const int64_t tasks = (blocks + per_task - 1) / per_task;
  auto run = [&](int64_t t) { fn(t * per_task, std::min(blocks, (t + 1) * per_task)); };
  if (tasks <= 1) {
    for (int64_t t = 0; t < tasks; ++t) run(t);
    return;
  }
  ThreadPool::instance().parallel_for(tasks, [&](int64_t t) { run(t); });
}

}  // namespace
}  // namespace bitnet
