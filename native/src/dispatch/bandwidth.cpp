// The memory bandwidth probe: streaming reads with every pool thread, through the selected table's
// widest loads.
#include "bandwidth.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "../threads/thread_pool.h"
#include "dispatch.h"

namespace bitnet {

double read_bandwidth_of(const uint8_t* src, size_t bytes, int passes) {
  const KernelTable& t = table();
  ThreadPool& pool = ThreadPool::instance();
  const int threads = pool.size();
  bytes = bytes / (64 * (size_t)threads) * (64 * (size_t)threads);
  if (bytes == 0) throw std::runtime_error("the bandwidth probe source is too small");
  const size_t per = bytes / (size_t)threads;
  std::atomic<uint64_t> sink{0};
  pool.parallel_for(threads, [&](int64_t i) { sink ^= t.stream_read(src + (size_t)i * per, per); });  // warm-up
  double best = 0;
  for (int p = 0; p < passes; ++p) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(threads, [&](int64_t i) { sink ^= t.stream_read(src + (size_t)i * per, per); });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, (double)bytes / s);
  }
  static volatile uint64_t keep;
  keep = sink.load();  // keep the reads alive
  return best;
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
