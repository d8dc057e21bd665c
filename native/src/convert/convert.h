// Load-time conversions of whole tensors (and the screening bounds of a Q8_0 copy), on the thread pool.
#pragma once

#include <cstdint>

#include "../core/tensor_types.h"

namespace bitnet {

/** TQ1_0 → TQ2_0, block for block: the same trits and f16 scale bytes. */
void repack_tq1_0_as_tq2_0(const uint8_t* src, int64_t blocks, uint8_t* dst);
/** Q8_0 blocks (34 bytes per 32 values) of x, as ggml's quantize_row_q8_0_ref. */
void encode_q8_0(const float* x, int64_t blocks, uint8_t* out);
/** Every row of the N × K matrix w (a type with a dequant_row: F32, F16, BF16...) as Q8_0 blocks,
 *  (K / 32) · 34 bytes a row: encode_q8_0 of the row's f32 values. */
void encode_q8_0_rows(const TensorType& type, const uint8_t* w, int64_t N, int64_t K, uint8_t* out);
/** screenBoundsQ8_0: for each row r of the N × K matrix w (F32, F16 or BF16) and of its Q8_0 copy q
 *  ((K / 32) · 34 bytes a row), out[3r..3r+2] = max|w − ŵ|, the largest block Σ|ŵ|, max(|w|, |ŵ|),
 *  each rounded up to f32 (see packages/bitnet-kernels/src/api/Kernels.ts). */
void screen_bounds_q8_0(const TensorType& type, const uint8_t* w, const uint8_t* q, int64_t N, int64_t K, float* out);

}  // namespace bitnet
