// A persistent thread pool for the kernels: threads = cores (BITNET_THREADS or set_threads overrides),
// the calling thread takes part, idle workers spin briefly then sleep, and one job runs at a time (a mutex), so
// calls made concurrently from several JS threads queue up instead of oversubscribing the cores.
// Pool threads only ever run kernel code: never Node-API, never JS.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace bitnet {

/**
 * Memory for idle workers to pull into their caches after their share of a job, while they wait for
 * the next one: range i (p[i], bytes[i]) for worker i, the rows that thread will stream first in the
 * next matmul (see read_ahead.h), or `runs` shared among the workers (the keys and values the next
 * attention reads). Range 0 is the calling thread's, which reads none ahead. Only prefetch
 * instructions touch the ranges, so a stale address costs nothing but the request.
 */
struct ReadAhead {
  static constexpr int kMaxRanges = 8;
  const uint8_t* p[kMaxRanges];
  size_t bytes[kMaxRanges];
  int n = 0;
  /** `count` runs of `bytes` bytes, `stride` apart, from p. */
  struct Runs {
    const uint8_t* p;
    uint32_t bytes, stride, count;
  };
  /**
   * Besides the ranges: memory a kernel other than a matmul reads next (an attention call's keys and
   * values), shared out among the workers run by run (worker i takes runs i − 1, i − 1 + (workers), ...).
   */
  std::shared_ptr<const std::vector<Runs>> runs;
};

class ThreadPool {
 public:
  /** The process-wide pool, created on first use (size: set_threads, else configured_threads()). */
  static ThreadPool& instance();

  /**
   * Gives the process-wide pool `threads` threads, the caller included (1..256): creates it at that
   * size when no kernel has run yet, else waits for the job in flight and replaces its workers (new
   * workers inherit the calling thread's scheduling priority). Returns the previous size.
   */
  static int set_threads(int threads);

  /** Threads that run a job, the caller included. */
  int size() const { return size_.load(std::memory_order_acquire); }

  /**
   * Runs task(i, ctx) for every i in [0, ntasks) on the pool and the calling thread, and returns
   * when all are done. The first exception thrown by a task is rethrown here (the rest still run).
   * Called from a pool thread (nested), it runs everything inline.
   */
  using TaskFn = void (*)(int64_t i, void* ctx);
  void run(int64_t ntasks, TaskFn task, void* ctx);

  /**
   * The calling thread's next job (its next `run` on the pool, not one that runs inline) carries
   * `ra`: each worker that takes part in it prefetches its range once its tasks are done, until a new
   * job arrives. A decode step's kernels between two matmuls (norms, attention: ~30 µs each) leave the
   * memory bus idle; this fills those gaps with the next matmul's first weight rows.
   */
  static void read_ahead_after_next_job(const ReadAhead& ra);
  /** Read-aheads the workers have started (each a worker's range of one job), for tests. */
  uint64_t read_aheads() const { return read_aheads_.load(std::memory_order_relaxed); }
  /** ... of which a job's runs (ReadAhead::runs: an attention's keys and values), for tests. */
  uint64_t run_read_aheads() const { return run_read_aheads_.load(std::memory_order_relaxed); }

  /** Convenience: any callable f(int64_t). */
  template <class F>
  void parallel_for(int64_t ntasks, F&& f) {
    run(ntasks, [](int64_t i, void* c) { (*static_cast<F*>(c))(i); }, &f);
  }

  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

 private:
  explicit ThreadPool(int threads);
  void resize(int threads);
  void start_workers(int threads);
  void stop_workers();
  void worker_main(int index);
  void work_on_current_job();

  std::vector<std::thread> workers_;
  std::atomic<int> size_{1};
  std::mutex job_mutex_;  // one job at a time (and no resize while one runs)

  // Current job (written by the caller before the generation bump, read by workers after it).
  TaskFn task_ = nullptr;
  void* ctx_ = nullptr;
  int64_t ntasks_ = 0;
  std::atomic<int64_t> next_{0};
  // Job state in one word: bits 63..32 the job number, bit 31 "closed", bits 30..0 the workers inside
  // it. A worker joins a job only while it is open (CAS), so the caller, once every task is done,
  // closes it and waits only for workers that actually joined: a worker the OS has not scheduled yet
  // (cores shared with other processes) cannot hold the call up, and skips the job when it wakes.
  std::atomic<uint64_t> state_{0};
  std::atomic<bool> stop_{false};
  ReadAhead read_ahead_;  // the current job's (written with the job, read by workers inside it)
  std::atomic<uint64_t> read_aheads_{0};
  std::atomic<uint64_t> run_read_aheads_{0};
  std::exception_ptr error_;
  std::mutex error_mutex_;

  // Sleeping workers wait here.
  std::mutex sleep_mutex_;
  std::condition_variable sleep_cv_;
  std::atomic<int> sleepers_{0};
  int64_t spin_ns_;
};

/** Thread count the pool uses: BITNET_THREADS if set (1..256), else the cores available. */
int configured_threads();

}  // namespace bitnet
