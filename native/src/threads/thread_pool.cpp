#include "thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>

// Spin without the PAUSE instruction: under KVM, a vCPU executing PAUSE in a loop is taken for a
// lock waiter and descheduled (pause-loop exiting); on a busy host it then sleeps for a whole host
// time slice (measured: every kernel call taking ~4 ms). A plain load loop does not trigger it.
#define BITNET_PAUSE() __asm__ __volatile__("" ::: "memory")

#if defined(__linux__)
#include <sched.h>
#endif

namespace bitnet {

namespace {
thread_local bool t_in_pool = false;
thread_local ReadAhead t_pending_read_ahead;  // for the calling thread's next job

/**
 * A worker's progress through its range of a job's read-ahead (ReadAhead::range[i] for worker i): a
 * few lines at a time, so that a new job is noticed within ~1 KB of prefetches.
 */
struct ReadAheadCursor {
  const uint8_t* p = nullptr;
  size_t bytes = 0, done = 0;
  std::shared_ptr<const std::vector<ReadAhead::Runs>> runs;
  size_t run = 0, step_of = 1, line = 0, item = 0;  // run index, runs stepped by, line within the run's current item, item
  void start(const ReadAhead& ra, int worker, int workers) {
    done = 0;
    const bool mine = worker < ra.n;
    p = mine ? ra.p[worker] : nullptr;
    bytes = mine ? ra.bytes[worker] : 0;
    runs = ra.runs;
    run = (size_t)(worker - 1);
    step_of = (size_t)std::max(1, workers - 1);
    line = item = 0;
    if (runs && run >= runs->size()) runs.reset();
  }
  bool pending() const { return done < bytes || runs != nullptr; }
  bool has_runs() const { return runs != nullptr; }
  void step() {
    if (done < bytes) {
      const size_t end = std::min(bytes, done + 1024);
      for (size_t b = done; b < end; b += 64) __builtin_prefetch(p + b, 0, 2);  // prefetcht1: into this core's L2
      done = end;
      return;
    }
    // 16 lines of the runs
    for (int n = 0; n < 16 && runs;) {
      const ReadAhead::Runs& r = (*runs)[run];
      const uint8_t* base = r.p + (size_t)item * r.stride;
      for (; line < r.bytes && n < 16; line += 64, ++n) __builtin_prefetch(base + line, 0, 2);
      if (line < r.bytes) break;
      line = 0;
      if (++item < r.count) continue;
      item = 0;
      run += step_of;
      if (run >= runs->size()) runs.reset();
    }
  }
  void stop() {
    bytes = done = 0;
    runs.reset();
  }
};

int cores_available() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? (int)n : 1;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

int configured_threads() {
  const char* env = std::getenv("BITNET_THREADS");
  if (env && *env) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (*end != '\0' || v < 1 || v > 256) {
      throw std::invalid_argument(std::string("BITNET_THREADS='") + env + "' is not a thread count from 1 to 256");
    }
    return (int)v;
  }
  return cores_available();
}

namespace {
/** The size set_threads asked for before the pool existed (0: none). */
std::atomic<int> g_requested_threads{0};
}  // namespace

ThreadPool& ThreadPool::instance() {
  static ThreadPool pool(g_requested_threads.load() > 0 ? g_requested_threads.load() : configured_threads());
  return pool;
}

int ThreadPool::set_threads(int threads) {
  if (threads < 1 || threads > 256) throw std::invalid_argument("thread count must be from 1 to 256, got " + std::to_string(threads));
  g_requested_threads.store(threads);
  ThreadPool& pool = instance();
  const int previous = pool.size();
  pool.resize(threads);
  return previous;
}

ThreadPool::ThreadPool(int threads) {
  // Idle workers spin this long after a job before sleeping: a forward pass issues kernels back to
  // back, and a sleeping worker takes tens of microseconds to wake.
  spin_ns_ = 2000000;  // 2 ms
  if (const char* s = std::getenv("BITNET_SPIN_US")) spin_ns_ = std::strtoll(s, nullptr, 10) * 1000;
  start_workers(threads);
}

namespace {
constexpr uint64_t kClosed = uint64_t{1} << 31;
constexpr uint64_t kInside = kClosed - 1;
inline uint64_t job_of(uint64_t s) { return s >> 32; }
}  // namespace

void ThreadPool::start_workers(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_main(i); });
  size_.store(threads, std::memory_order_release);
}

void ThreadPool::stop_workers() {
  stop_.store(true);
  {
    // A new job number, already closed with nobody inside: every worker wakes, sees stop_ and
    // returns; workers started afterwards skip it as a job that is over.
    std::lock_guard<std::mutex> lk(sleep_mutex_);
    state_.store(((job_of(state_.load(std::memory_order_relaxed)) + 1) << 32) | kClosed, std::memory_order_release);
  }
  sleep_cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  stop_.store(false);
}

void ThreadPool::resize(int threads) {
  std::lock_guard<std::mutex> job(job_mutex_);  // waits for the job in flight
  if (threads == size()) return;
  stop_workers();
  start_workers(threads);
}

ThreadPool::~ThreadPool() { stop_workers(); }

void ThreadPool::work_on_current_job() {
  for (;;) {
    const int64_t i = next_.fetch_add(1, std::memory_order_relaxed);
    if (i >= ntasks_) break;
    try {
      task_(i, ctx_);
    } catch (...) {
      std::lock_guard<std::mutex> lk(error_mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }
}

void ThreadPool::worker_main(int index) {
  t_in_pool = true;
  uint64_t seen = 0;  // the last job number this worker looked at
  ReadAheadCursor cursor;
  for (;;) {
    // Spin (reading ahead first, if the last job asked for it), then sleep, until a new job number appears.
    uint64_t s = state_.load(std::memory_order_acquire);
    if (job_of(s) == seen) {
      const int64_t until = now_ns() + spin_ns_;
      int n = 0;
      while (job_of(s = state_.load(std::memory_order_acquire)) == seen) {
        if (cursor.pending()) {
          cursor.step();
          continue;
        }
        BITNET_PAUSE();
        if ((++n & 1023) == 0 && now_ns() > until) break;
      }
      if (job_of(s) == seen) {
        std::unique_lock<std::mutex> lk(sleep_mutex_);
        sleepers_.fetch_add(1);
        sleep_cv_.wait(lk, [&] { return job_of(s = state_.load(std::memory_order_acquire)) != seen; });
        sleepers_.fetch_sub(1);
      }
    }
    if (stop_.load()) return;
    seen = job_of(s);
    cursor.stop();  // a new job: what is left to read ahead is for a matmul that has started
    // Join the job if it is still open.
    bool joined = false;
    while (job_of(s) == seen && !(s & kClosed)) {
      if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        joined = true;
        break;
      }
    }
    if (!joined) continue;  // closed already (the caller did all the work) or superseded
    work_on_current_job();
    // Copied while still inside the job: the caller writes the next job's only after every worker left.
    cursor.start(read_ahead_, index, size());
    if (cursor.pending()) read_aheads_.fetch_add(1, std::memory_order_relaxed);
    if (cursor.has_runs()) run_read_aheads_.fetch_add(1, std::memory_order_relaxed);
    state_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::read_ahead_after_next_job(const ReadAhead& ra) { t_pending_read_ahead = ra; }

void ThreadPool::run(int64_t ntasks, TaskFn task, void* ctx) {
  if (ntasks <= 0) {
    t_pending_read_ahead = ReadAhead{};
    return;
  }
  if (t_in_pool || workers_.empty() || ntasks == 1) {
    t_pending_read_ahead = ReadAhead{};  // no worker takes part, so none reads ahead
    for (int64_t i = 0; i < ntasks; ++i) task(i, ctx);
    return;
  }
  std::lock_guard<std::mutex> job(job_mutex_);
  task_ = task;
  ctx_ = ctx;
  ntasks_ = ntasks;
  read_ahead_ = std::move(t_pending_read_ahead);
  t_pending_read_ahead = ReadAhead{};
  error_ = nullptr;
  next_.store(0, std::memory_order_relaxed);
  {
    // Published under sleep_mutex_ so that a worker about to sleep cannot miss it (it re-checks the
    // state under the same mutex in its wait predicate). The previous job is closed with nobody
    // inside, so the new word is simply: next job number, open, 0 inside.
    std::lock_guard<std::mutex> lk(sleep_mutex_);
    state_.store(((job_of(state_.load(std::memory_order_relaxed)) + 1) << 32), std::memory_order_release);
  }
  if (sleepers_.load() > 0) sleep_cv_.notify_all();
  t_in_pool = true;  // nested calls from the caller's own tasks run inline
  work_on_current_job();
  t_in_pool = false;
  // Every task is claimed: close the job and wait for the workers that joined it to finish theirs.
  state_.fetch_or(kClosed, std::memory_order_acq_rel);
  int n = 0;
  while ((state_.load(std::memory_order_acquire) & kInside) != 0) {
    if (++n < 100000) BITNET_PAUSE();
    else std::this_thread::yield();
  }
  if (error_) {
    std::exception_ptr e = error_;
    error_ = nullptr;
    std::rethrow_exception(e);
  }
}

}  // namespace bitnet
