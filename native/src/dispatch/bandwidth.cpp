// The machine probes: memory bandwidth (streaming reads with every pool thread, through the selected
// table's widest loads) and the int8 multiply-add ceiling (the table's int8_peak loop on every thread).
#include "bandwidth.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "../threads/thread_pool.h"
#include "dispatch.h"

namespace bitnet {

namespace {
/** The shortest of `passes` timed runs of run(), in seconds (the probes report the best pass: other work
 *  on the shared cores only ever slows one down). */
template <class Run>
double shortest_run(int passes, Run&& run) {
  double best = HUGE_VAL;
  for (int p = 0; p < passes; ++p) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}
}  // namespace

double read_bandwidth_of(const uint8_t* src, size_t bytes, int passes) {
  const KernelTable& t = table();
  ThreadPool& pool = ThreadPool::instance();
  const int threads = pool.size();
  bytes = bytes / (64 * (size_t)threads) * (64 * (size_t)threads);
  if (bytes == 0) throw std::runtime_error("the bandwidth probe source is too small");
  const size_t per = bytes / (size_t)threads;
  std::atomic<uint64_t> sink{0};
  auto read = [&] { pool.parallel_for(threads, [&](int64_t i) { sink ^= t.stream_read(src + (size_t)i * per, per); }); };
  read();  // warm-up
  const double best = (double)bytes / shortest_run(passes, read);
  static volatile uint64_t keep;
  keep = sink.load();  // keep the reads alive
  return best;
}

Int8Peak int8_peak(uint64_t rounds, int passes) {
  const KernelTable& t = table();
  ThreadPool& pool = ThreadPool::instance();
  const int threads = pool.size();
  std::vector<uint64_t> macs((size_t)threads);
  std::vector<int64_t> sums((size_t)threads);
  const double s = shortest_run(passes, [&] { pool.parallel_for(threads, [&](int64_t i) { macs[(size_t)i] = t.int8_peak(rounds, &sums[(size_t)i]); }); });
  Int8Peak r{0, 0, 0};  // the last pass's counts (every pass does the same work)
  for (int i = 0; i < threads; ++i) r.multiply_adds += macs[(size_t)i], r.checksum += sums[(size_t)i];
  r.per_second = (double)r.multiply_adds / s;
  return r;
}

double read_bandwidth(size_t bytes, int passes) {
  const int threads = ThreadPool::instance().size();
  bytes = bytes / (64 * (size_t)threads) * (64 * (size_t)threads);
  uint8_t* buf = static_cast<uint8_t*>(std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096));
  if (!buf) throw std::runtime_error("cannot allocate the bandwidth probe buffer");
  const size_t per = bytes / (size_t)threads;
  // Each thread touches (faults in) its own slice, then it is read as any other source.
  ThreadPool::instance().parallel_for(threads, [&](int64_t i) {
    for (size_t j = 0; j < per; j += 64) std::memset(buf + (size_t)i * per + j, (int)(j >> 6), 64);
  });
  try {
    const double best = read_bandwidth_of(buf, bytes, passes);
    std::free(buf);
    return best;
  } catch (...) {
    std::free(buf);
    throw;
  }
}

}  // namespace bitnet
