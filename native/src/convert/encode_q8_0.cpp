// Q8_0 block encoding (load time: a float matrix stored as Q8_0 weights), on the thread pool with the
// selected table's row kernels. Not to be confused with the Q8_0 activation quantizer of the kernel
// tables, which writes int8 and f32 scales.
#include <cstdint>
#include <vector>

#include "../core/scalar.h"
#include "../dispatch/dispatch.h"
#include "../threads/parallel.h"
#include "convert.h"

namespace bitnet {

void encode_q8_0(const float* x, int64_t blocks, uint8_t* out) {
  const KernelTable& t = table();
  for_block_ranges(blocks, [&](int64_t b0, int64_t b1) { t.encode_q8_0_row(x + b0 * QK8_0, (b1 - b0) * QK8_0, out + b0 * Q8_0_BYTES); });
}

void encode_q8_0_rows(const TensorType& type, const uint8_t* w, int64_t N, int64_t K, uint8_t* out) {
  const KernelTable& t = table();
  const DequantRowFn dequant = t.types[type.id].dequant_row;
  const size_t rb = row_bytes(type, K), ob = (size_t)(K / QK8_0) * Q8_0_BYTES;
  // Each row is read into an f32 row that stays in L1 and encoded from there. F16 takes the table's
  // F16C reader, which differs from dequant_row only in a NaN's quiet bit (a NaN's code is unspecified).
  for_rows(N, K, [&](int64_t r) {
    thread_local std::vector<float> row;
    if (row.size() < (size_t)K) row.resize((size_t)K);
    if (type.id == GGML_F16) t.f16_row_to_f32(w + r * rb, row.data(), K);
    else dequant(w + r * rb, row.data(), K, 0.0f);
    t.encode_q8_0_row(row.data(), K, out + r * ob);
  });
}

}  // namespace bitnet
