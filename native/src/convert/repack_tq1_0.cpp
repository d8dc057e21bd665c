// TQ1_0 → TQ2_0 repacking (TQ2_0 has the faster kernels; the trits and scale are the same), on the
// thread pool with the selected table's block kernel.
#include <cstdint>

#include "../core/tensor_types.h"
#include "../dispatch/dispatch.h"
#include "../threads/parallel.h"
#include "convert.h"

namespace bitnet {

void repack_tq1_0_as_tq2_0(const uint8_t* src, int64_t blocks, uint8_t* dst) {
  const KernelTable& t = table();
  for_block_ranges(blocks, [&](int64_t b0, int64_t b1) { t.repack_tq1_0_blocks(src + b0 * TQ1_0_BYTES, b1 - b0, dst + b0 * TQ2_0_BYTES); });
}

}  // namespace bitnet
