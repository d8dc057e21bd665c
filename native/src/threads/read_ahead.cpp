#include "read_ahead.h"

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace bitnet {

namespace {
/** Entries kept before the plan starts over (a model makes ~4 matmul calls a layer). */
constexpr size_t kMaxEntries = 4096;
constexpr size_t kDefaultKb = 1024;
}  // namespace

ReadAheadPlan& ReadAheadPlan::instance() {
  static ReadAheadPlan plan;
  return plan;
}

ReadAheadPlan::ReadAheadPlan() : budget_(kDefaultKb << 10) {
  if (const char* s = std::getenv("BITNET_READ_AHEAD_KB"); s && *s) {
    char* end = nullptr;
    const unsigned long long kb = std::strtoull(s, &end, 10);
    if (*end != '\0' || kb > (1u << 20)) throw std::invalid_argument(std::string("BITNET_READ_AHEAD_KB='") + s + "' is not a size in KB from 0 to 1048576");
    budget_.store((size_t)kb << 10);
  }
}

void ReadAheadPlan::reset(size_t budget) {
  std::lock_guard<std::mutex> lk(mutex_);
  budget_.store(budget);
  next_.clear();
  last_ = predicted_ = nullptr;
  stats_ = Stats{};
}

ReadAheadPlan::Stats ReadAheadPlan::stats() const {
  std::lock_guard<std::mutex> lk(mutex_);
  return stats_;
}

void ReadAheadPlan::on_matmul(const void* key, const ReadAhead& heads) { on_call(key, heads, false); }

void ReadAheadPlan::on_reads(const void* key, std::shared_ptr<const std::vector<ReadAhead::Runs>> runs) {
  ReadAhead ra;
  ra.runs = std::move(runs);
  on_call(key, ra, true);
}

void ReadAheadPlan::on_call(const void* key, const ReadAhead& heads, bool reads) {
  if (budget() == 0) return;
  ReadAhead ahead;
  {
    std::lock_guard<std::mutex> lk(mutex_);
    ++(reads ? stats_.reads : stats_.matmuls);
    if (predicted_ == key) ++stats_.hits;
    predicted_ = nullptr;
    if (last_ != nullptr && last_ != key) {
      if (next_.size() >= kMaxEntries) next_.clear();
      next_[last_] = Next{key, heads};
    }
    last_ = key;
    const auto it = next_.find(key);
    if (it == next_.end()) return;
    ++stats_.predicted;
    predicted_ = it->second.key;
    ahead = it->second.heads;
  }
  ThreadPool::read_ahead_after_next_job(ahead);
}

}  // namespace bitnet
