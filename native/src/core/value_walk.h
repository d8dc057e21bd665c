// The walk over one value row of an attention call (kv head kvh, dimension d) in chunks of W
// positions (32 for ggml_vec_dot_f16's lanes, 8 for tinyBLAS's) from position 0, shared by the SIMD
// p·V kernels: contiguous, or block by block through a paged cache's table (a chunk never straddles
// two blocks, since blocks hold a multiple of 32).
#pragma once

#include <cstdint>

#include "kernel_table.h"

namespace bitnet {

/**
 * Calls chunk(c, p) for every whole chunk of W positions p .. p + W − 1 below `visible` (c[i] holds
 * position p + i), then last(c, p) for the partial chunk p .. visible − 1 if there is one, in position
 * order. The caller's accumulators simply carry on across blocks.
 */
template <int W, bool Paged, class Chunk, class Last>
inline void walk_value_chunks(const AttentionArgs& a, int64_t kvh, int64_t d, int64_t visible, Chunk&& chunk, Last&& last) {
  static_assert(W == 8 || W == 32, "blocks hold a multiple of 32 positions: a chunk of 8 or 32 never straddles two");
  const int64_t D = a.headDim, bt = a.blockTokens;
  const int64_t full = visible & ~(int64_t)(W - 1);
  int64_t p = 0;
  if constexpr (!Paged) {
    const uint16_t* v = a.v + a.kv_offset(0, kvh) + d * bt;  // the kv head's [headDim][capacity] values
    for (; p < full; p += W) chunk(v + p, p);
    if (p < visible) last(v + p, p);
  } else {
    const int64_t stride = a.kvHeads * bt * D;  // elements per block
    const int64_t whole = full / bt;            // blocks holding only whole chunks
    const uint16_t* vd = a.v + kvh * bt * D + d * bt;  // dimension d of kv head kvh in block 0
    for (int64_t j = 0; j < whole; ++j) {
      const uint16_t* v = vd + a.blocks[j] * stride;
      for (int64_t i = 0; i < bt; i += W) chunk(v + i, j * bt + i);
    }
    p = whole * bt;
    if (p < visible) {
      const uint16_t* v = vd + a.blocks[whole] * stride;  // v[i] is position p0 + i
      const int64_t p0 = p;
      for (; p < full; p += W) chunk(v + (p - p0), p);
      if (p < visible) last(v + (p - p0), p);
    }
  }
}

}  // namespace bitnet
