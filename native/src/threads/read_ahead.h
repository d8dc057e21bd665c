// Read-ahead of the next matmul's weights in the gaps of a decode step (see ThreadPool::read_ahead_after_next_job).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "thread_pool.h"

namespace bitnet {

/**
 * Learns the order in which a forward pass applies its weight matrices: a decode step applies them in
 * the same order every token (a layer's Q/K/V, output, gate/up and down, then the next layer's, then
 * the output matrix). As each matmul starts it records its threads' first rows as what follows the
 * matmul before it, and hands the pool what followed itself last time: each worker prefetches its own
 * share's first rows of that matrix once its part of this one is done, while the calling thread runs
 * the small kernels in between. A wrong guess (another model's calls interleaved, a freed mapping)
 * costs only prefetches: nothing is ever loaded from a remembered address.
 *
 * Measured (2B4T I2_S decode, Zen 4, 2 threads, rounds alternating in one process, tools/bench/
 * decode-profile): ternary matmul time −3..7 %, the whole step −1.3..2.4 % with 1 MB a worker (2 and
 * 4 MB: no better in two pairings of three; reading ahead every thread's share from the worker, instead
 * of its own, gained nothing: the calling thread then takes its rows from the other core's cache).
 *
 * A decode step's attention (attention_many on the pool) takes part as well (on_reads): it follows the
 * layer's Q/K/V matmul, so after that matmul the workers pull in the keys and values the attention read
 * last step, from memory the weights have washed out of every cache, while the calling thread runs
 * RoPE and prepares the call. 8-sequence screened decode steps at ~60 positions, Zen 4, three
 * alternating pairs: attention 5.5–7.4 → 4.5–6.1 ms a step; one sequence 1.1–1.7 → 0.9–1.5 ms.
 */
class ReadAheadPlan {
 public:
  static ReadAheadPlan& instance();

  /** Bytes a worker reads ahead (BITNET_READ_AHEAD_KB at load, default 1024; 0 turns it off). */
  size_t budget() const { return budget_.load(std::memory_order_relaxed); }
  /** Test hook: sets the budget and forgets what the plan learned. */
  void reset(size_t budget);

  /** A matmul over the matrix `key` starts; `heads` are the rows its threads stream first. */
  void on_matmul(const void* key, const ReadAhead& heads);
  /**
   * Another pool job that reads known memory starts (attention_many: `key` its first call's key cache,
   * `runs` the keys and values its tasks read): recorded as what follows the call before it, as a
   * matmul's first rows are, so that the workers pull it in after that call next time.
   */
  void on_reads(const void* key, std::shared_ptr<const std::vector<ReadAhead::Runs>> runs);

  struct Stats {
    uint64_t matmuls;    // matmul calls seen while the budget was not 0
    uint64_t reads;      // other calls seen (on_reads: attention_many on the pool)
    uint64_t predicted;  // ... of either that found what followed them last time
    uint64_t hits;       // ... whose matrix (or keys) was the one the call before them predicted
  };
  Stats stats() const;

 private:
  ReadAheadPlan();
  struct Next {
    const void* key;  // the matrix (or attention) that followed
    ReadAhead heads;  // its first rows (or the attention's runs)
  };
  void on_call(const void* key, const ReadAhead& heads, bool reads);
  std::atomic<size_t> budget_;
  mutable std::mutex mutex_;
  std::unordered_map<const void*, Next> next_;
  const void* last_ = nullptr;       // the previous call's matrix
  const void* predicted_ = nullptr;  // what the previous call expected next
  Stats stats_{};
};

}  // namespace bitnet
