// The attention drivers: attention_many (several sequences' attention as one pass over the pool, each
// call's new keys and values stored on the way) and store_kv, with what they ask of the caches: the
// prefetch of a task's lines and the read-ahead plan's note of what a call reads. Every buffer has been
// checked by the binding; nothing here touches Node-API.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../dispatch/dispatch.h"
#include "drivers.h"
#include "read_ahead.h"
#include "thread_pool.h"

namespace bitnet {

/** The calling thread's attention scratch, grown as needed and kept: a decode step calls attention
 *  once per layer, and a fresh allocation of this size would fault its pages in every time. */
static float* attention_scratch(size_t floats) {
  struct Buffer {
    float* p = nullptr;
    size_t cap = 0;
    ~Buffer() { std::free(p); }
  };
  thread_local Buffer buf;
  if (buf.cap < floats) {
    float* p = static_cast<float*>(std::aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64));
    if (!p) throw std::runtime_error("attention: cannot allocate " + std::to_string(floats * sizeof(float)) + " bytes of scratch");
    std::free(buf.p);
    buf.p = p;
    buf.cap = floats;
  }
  return buf.p;
}

void attention(const AttentionArgs& a) { attention_many(&a, 1); }

namespace {

/**
 * Block j's keys and values of kv head kvh at its first n positions, as runs: the keys one run; the
 * values one run for a whole block, else one run of n positions per dimension (a block holds each
 * dimension's positions together). What prefetch_kv asks for and plan_attention_reads records.
 */
std::array<ReadAhead::Runs, 2> block_runs(const AttentionArgs& a, int64_t j, int64_t kvh, int64_t n) {
  const int64_t D = a.headDim, bt = a.blockTokens, off = a.kv_offset(j, kvh);
  const ReadAhead::Runs keys{reinterpret_cast<const uint8_t*>(a.k + off), (uint32_t)(n * D * 2), 0, 1};
  const uint8_t* v = reinterpret_cast<const uint8_t*>(a.v + off);
  return {keys, n == bt ? ReadAhead::Runs{v, (uint32_t)(bt * D * 2), 0, 1} : ReadAhead::Runs{v, (uint32_t)(n * 2), (uint32_t)(bt * 2), (uint32_t)D}};
}

/**
 * Asks for the cache lines a task of attention_many reads — kv head kvh's keys and values at positions
 * [0, reach), up to 64 KB — all at once. In a decode step the weights have washed the KV cache out of
 * every cache level, and the task's own loads met its lines one miss after another: a batched step's
 * attention (8 sequences at ~40 positions, Zen 5) took ~3.7–5.0 ms where the same calls repeated at
 * once took ~1.8; with this, ~3.1–3.7.
 *
 * Into L2 (prefetcht1), not L1: a task asks for ~500 lines at 64 positions, far more than L1 has miss
 * buffers or room. On Zen 4, in an 8-sequence screened decode step at ~60 positions (three alternating
 * rounds), attention took 5.6–6.6 ms with L2 prefetches against 6.9–8.6 with L1 ones (7.2–9.3 with none).
 */
void prefetch_kv(const AttentionArgs& a, int64_t kvh, int64_t reach) {
  const int64_t bt = a.blockTokens;
  int64_t budget = 1024;  // cache lines
  for (int64_t j = 0; j * bt < reach && budget > 0; ++j)
    for (const ReadAhead::Runs& r : block_runs(a, j, kvh, std::min(bt, reach - j * bt)))
      for (uint32_t i = 0; i < r.count && budget > 0; ++i)
        for (uint32_t b = 0; b < r.bytes && budget > 0; b += 64, --budget) __builtin_prefetch(r.p + (size_t)i * r.stride + b, 0, 2);
}

/**
 * Tells the read-ahead plan what this attention_many call reads (every call's keys and values at the
 * positions before its new ones, in task order, cut at the plan's budget), so that next step the
 * workers pull it into their caches after the matmul before it (the layer's Q/K/V).
 */
void plan_attention_reads(const AttentionArgs* parts, int64_t count) {
  ReadAheadPlan& plan = ReadAheadPlan::instance();
  const size_t budget = plan.budget();
  if (budget == 0) return;
  auto runs = std::make_shared<std::vector<ReadAhead::Runs>>();
  size_t total = 0;
  const void* key = nullptr;
  for (int64_t c = 0; c < count && total < budget; ++c) {
    const AttentionArgs& a = parts[c];
    if (a.empty()) continue;
    if (!key) key = a.k;
    const int64_t D = a.headDim, bt = a.blockTokens, reach = a.startPos;
    const size_t per_position = (size_t)(2 * D * 2);  // one position's keys and values of one kv head
    for (int64_t kvh = 0; kvh < a.kvHeads && total < budget; ++kvh)
      for (int64_t j = 0; j * bt < reach && total < budget; ++j) {
        // the block's positions, as many as the budget has room for
        const int64_t n = std::min<int64_t>(std::min(bt, reach - j * bt), (int64_t)((budget - total) / std::max<size_t>(per_position, 1)));
        if (n <= 0) {
          total = budget;
          break;
        }
        for (const ReadAhead::Runs& r : block_runs(a, j, kvh, n)) runs->push_back(r);
        total += (size_t)n * per_position;
      }
  }
  if (key && !runs->empty()) plan.on_reads(key, std::move(runs));
}

/** Kv heads [h0, h1) of store_kv (both store paths write the cache layout through it). */
void store_kv_heads(const float* k, const float* v, int64_t tokens, int64_t kvHeads, int64_t headDim, int64_t startPos, int64_t capacity,
                    const int32_t* blocks, int64_t blockTokens, uint16_t* kCache, uint16_t* vCache, int64_t h0, int64_t h1);

}  // namespace

void attention_many(const AttentionArgs* parts, int64_t count) {
  const KernelTable& t = table();
  // Tasks: (call, kv head, block of up to rows_per_task tokens), each with all of its rows' query heads.
  // The calls' tasks are numbered end to end, so several sequences' attention (a batched decode step)
  // is one pass over the pool. Small work (a short-context decode) stays on the calling thread.
  // Rows per task: 16, or 32 past position 512, where rows cost nearly the same (so 32-row tasks still
  // share out evenly) and a task's one-off work over its keys (the AVX-512 transposition) is halved.
  auto rows_per_task = [](const AttentionArgs& a) -> int64_t { return a.startPos >= 512 ? 32 : 16; };
  // Keys and values to store: a call whose rows make one task per kv head stores each head's in that
  // task (on the pool, just before the head's positions are read); a call whose heads have several
  // tasks, or none (no query heads), stores everything before the pool starts.
  auto stores_in_tasks = [&](const AttentionArgs& a) { return !a.empty() && a.tokens <= rows_per_task(a); };
  std::vector<int64_t> first((size_t)count + 1, 0);  // first task of each call
  int64_t work = 0;
  size_t per_slot = 0;
  for (int64_t c = 0; c < count; ++c) {
    const AttentionArgs& a = parts[c];
    const int64_t TB = rows_per_task(a);
    first[(size_t)c + 1] = first[(size_t)c] + (a.empty() ? 0 : a.kvHeads * ((a.tokens + TB - 1) / TB));
    if (a.empty()) continue;
    work += a.tokens * a.heads * (a.startPos + a.tokens) * a.headDim;
    per_slot = std::max(per_slot, ((size_t)attention_scratch_floats(a, a.tokens) + 7) / 8 * 8);
  }
  const int64_t tasks = first[(size_t)count];
  for (int64_t c = 0; c < count; ++c) {
    const AttentionArgs& a = parts[c];
    if (a.new_k && !stores_in_tasks(a))
      store_kv(a.new_k, a.new_v, a.tokens, a.kvHeads, a.headDim, a.startPos, a.capacity, a.blocks, a.blockTokens, a.k_store, a.v_store);
  }
  if (tasks == 0) return;
  const int threads = work < (1 << 16) ? 1 : (int)std::min<int64_t>(ThreadPool::instance().size(), tasks);
  float* scratch = attention_scratch(per_slot * (size_t)threads);
  if (threads > 1) plan_attention_reads(parts, count);
  auto run_task = [&](int64_t i, float* s) {
    const int64_t c = std::upper_bound(first.begin(), first.end(), i) - first.begin() - 1;
    const AttentionArgs& a = parts[c];
    const int64_t local = i - first[(size_t)c];
    const int64_t TB = rows_per_task(a);
    const int64_t kvh = local % a.kvHeads, b = local / a.kvHeads;
    const int64_t t1 = std::min(a.tokens, (b + 1) * TB);
    // the head's lines asked for first (the new positions' included), so the stores find them in cache
    prefetch_kv(a, kvh, a.startPos + t1);
    if (a.new_k && stores_in_tasks(a))
      store_kv_heads(a.new_k, a.new_v, a.tokens, a.kvHeads, a.headDim, a.startPos, a.capacity, a.blocks, a.blockTokens, a.k_store, a.v_store, kvh, kvh + 1);
    t.attention_group(a, b * TB, t1, kvh, s);
  };
  if (threads == 1) {
    for (int64_t i = 0; i < tasks; ++i) run_task(i, scratch);
    return;
  }
  // One scratch slot per thread; the threads claim tasks one at a time.
  std::atomic<int64_t> next{0};
  std::atomic<int> slot_ids{0};
  ThreadPool::instance().parallel_for(threads, [&](int64_t) {
    float* s = scratch + (size_t)slot_ids.fetch_add(1) * per_slot;
    for (int64_t i; (i = next.fetch_add(1)) < tasks;) run_task(i, s);
  });
}

namespace {

void store_kv_heads(const float* k, const float* v, int64_t tokens, int64_t kvHeads, int64_t headDim, int64_t startPos, int64_t capacity,
                    const int32_t* blocks, int64_t blockTokens, uint16_t* kCache, uint16_t* vCache, int64_t h0, int64_t h1) {
  const KernelTable& t = table();
  const int64_t D = headDim, kvDim = kvHeads * headDim, nd = (h1 - h0) * D;  // nd: the heads' values per token
  const int64_t bt = blocks ? blockTokens : capacity;  // positions per block; one block when contiguous
  // Values: the heads' rounded in one pass per token, then transposed so each dimension's new positions
  // are one run per block.
  thread_local std::vector<uint16_t> rounded;
  rounded.resize((size_t)(tokens * nd));
  for (int64_t i = 0; i < tokens; ++i) t.to_f16(v + i * kvDim + h0 * D, rounded.data() + i * nd, nd);
  const int64_t last = startPos + tokens;
  for (int64_t p = startPos; p < last;) {
    // Positions [p, end) lie in block j, which starts at position p0.
    const int64_t j = blocks ? p / bt : 0, p0 = j * bt, end = std::min(last, p0 + bt);
    const int64_t base = (blocks ? blocks[j] : 0) * kvHeads * bt * D;
    // Keys: each (token, kv head) row lands whole at its position.
    for (int64_t pos = p; pos < end; ++pos)
      for (int64_t h = h0; h < h1; ++h) t.to_f16(k + (pos - startPos) * kvDim + h * D, kCache + base + (h * bt + pos - p0) * D, D);
    for (int64_t c = h0 * D; c < h1 * D; ++c) {
      uint16_t* dst = vCache + base + c * bt + (p - p0);  // c = kv head · D + dimension
      for (int64_t pos = p; pos < end; ++pos) dst[pos - p] = rounded[(size_t)((pos - startPos) * nd + c - h0 * D)];
    }
    p = end;
  }
}

}  // namespace

void store_kv(const float* k, const float* v, int64_t tokens, int64_t kvHeads, int64_t headDim, int64_t startPos, int64_t capacity,
              const int32_t* blocks, int64_t blockTokens, uint16_t* kCache, uint16_t* vCache) {
  store_kv_heads(k, v, tokens, kvHeads, headDim, startPos, capacity, blocks, blockTokens, kCache, vCache, 0, kvHeads);
}

}  // namespace bitnet
