// Load-time conversions of whole tensors (and the screened output's I8r copy and its bounds), on the thread pool.
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
/** encodeI8rRows: every row r of the N × K matrix w (F32, F16 or BF16; K % 32 == 0) as K codes at
 *  codes + r·K and its scale in scales[r] (the table's encode_i8r_row on the row's f32 values). */
void encode_i8r_rows(const TensorType& type, const uint8_t* w, int64_t N, int64_t K, uint8_t* codes, float* scales);
/** screenBoundsI8r: for each row r of w (F32, F16 or BF16) and of its I8r copy (codes, scales),
 *  out[2r], out[2r + 1] (see packages/bitnet-kernels/src/api/Kernels.ts). */
void screen_bounds_i8r(const TensorType& type, const uint8_t* w, const uint8_t* codes, const float* scales, int64_t N, int64_t K, float* out);

}  // namespace bitnet
