// The walk over one value row of an attention call (kv head kvh, dimension d) in chunks of W
// positions (32 for ggml_vec_dot_f16's lanes, 8 for tinyBLAS's), shared by the SIMD p·V kernels:
// contiguous, or block by block through a paged cache's table (a chunk never straddles two blocks,
// since blocks hold a multiple of 32); whole, or in spans of positions (value_span).
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernel_table.h"

namespace bitnet {

/**
 * Calls chunk(c, p) for every whole chunk of W positions p .. p + W − 1 in [from, min(to, visible)) (c[i]
 * holds position p + i), then, when the range reaches `visible`, last(c, p) for the partial chunk
 * p .. visible − 1 if there is one, in position order. `from` is a multiple of W (and, paged, of the
 * block size), `to` one of W or ≥ visible: a walk split into ranges calls the same chunks in the same
 * order as one over [0, visible), so accumulators kept from range to range carry on unchanged.
 */
template <int W, bool Paged, class Chunk, class Last>
inline void walk_value_chunks(const AttentionArgs& a, int64_t kvh, int64_t d, int64_t visible, Chunk&& chunk, Last&& last,
                              int64_t from = 0, int64_t to = INT64_MAX) {
  static_assert(W == 8 || W == 32, "blocks hold a multiple of 32 positions: a chunk of 8 or 32 never straddles two");
  const int64_t D = a.headDim, bt = a.blockTokens;
  const bool ends = to >= visible;
  const int64_t full = ends ? visible & ~(int64_t)(W - 1) : to;
  int64_t p = from;
  if constexpr (!Paged) {
    const uint16_t* v = a.v + a.kv_offset(0, kvh) + d * bt;  // the kv head's [headDim][capacity] values
    for (; p < full; p += W) chunk(v + p, p);
    if (ends && p < visible) last(v + p, p);
  } else {
    const int64_t stride = a.kvHeads * bt * D;         // elements per block
    const uint16_t* vd = a.v + kvh * bt * D + d * bt;  // dimension d of kv head kvh in block 0
    auto at = [&](int64_t q) { return vd + a.blocks[q / bt] * stride + q % bt; };  // position q's value
    while (p < full) {
      const uint16_t* v = at(p);  // v[i] is position p0 + i, to the end of p0's block
      const int64_t p0 = p, stop = std::min(full, (p / bt + 1) * bt);
      for (; p < stop; p += W) chunk(v + (p - p0), p);
    }
    if (ends && p < visible) last(at(p), p);
  }
}

/**
 * Positions a p·V pass over some value rows walks before moving on to the next rows (INT64_MAX: the
 * whole context at once). A paged cache holds a value row in pieces of one block each (64 positions:
 * 128 bytes), 80 KB apart for 2B4T, so walking every block for each few of 128 dimensions made those
 * pieces' misses the cost. In spans of kValueSpan positions a pass stays within a few blocks' memory
 * while the next rows' pieces are still in cache, and each row's lanes wait in scratch
 * (value_span_lanes) from span to span. One sequence at 4000 positions, 30 layers, cache cold, Zen 4,
 * 2 threads: AVX-512 33 → 21 ms in 64-position blocks (15 contiguous), AVX2 43–48 → 26 (27
 * contiguous); spans of 256 and 1024 measured slower than 512. A contiguous row streams well as it is
 * (spans changed nothing there), so it keeps one pass.
 */
constexpr int64_t kValueSpan = 512;
inline int64_t value_span(const AttentionArgs& a, int64_t visible) {
  if (!a.blocks || a.blockTokens >= kValueSpan || visible <= kValueSpan) return INT64_MAX;
  return kValueSpan / a.blockTokens * a.blockTokens;  // blocks hold a multiple of 32: so does the span
}

/**
 * Calls f(from, to) for each span of a p·V walk over `visible` positions, in order: [0, visible) when
 * value_span does not split it. to < visible: more spans follow (the lanes are kept for them).
 */
template <class F>
inline void for_each_value_span(const AttentionArgs& a, int64_t visible, F&& f) {
  const int64_t span = value_span(a, visible);
  for (int64_t from = 0; from < visible; from += span) f(from, std::min(visible, from + span));
}

/** Where a p·V walked in spans keeps its lanes between spans: 32 floats per dimension of up to four
 *  heads, after the scores, queries and transposed keys of attention_group's scratch (vpmax positions). */
inline float* value_span_lanes(const AttentionArgs& a, float* scratch, int64_t vpmax) { return scratch + attention_scratch_lanes_at(a, vpmax); }

}  // namespace bitnet
