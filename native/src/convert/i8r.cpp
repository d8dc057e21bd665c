// The screened output's load-time kernels: encodeI8rRows (an F32/F16/BF16 matrix as I8r rows) and
// screenBoundsI8r (each row's L2 bounds against an I8r copy). Each row is read into an f32 row that
// stays in L1 (as encode_q8_0_rows does, F16 by the table's F16C reader), then handed to the table's row kernel (core/i8r_rows.h), on
// the pool.
#include <cstdint>
#include <vector>

#include "../dispatch/dispatch.h"
#include "../threads/parallel.h"
#include "convert.h"

namespace bitnet {

namespace {

/** fn(r, f32 values of row r) for every row of w, on the pool. */
template <class F>
void for_f32_rows(const TensorType& type, const uint8_t* w, int64_t N, int64_t K, F&& fn) {
  const KernelTable& t = table();
  const DequantRowFn dequant = t.types[type.id].dequant_row;
  const size_t rb = row_bytes(type, K);
  for_rows(N, K, [&](int64_t r) {
    thread_local std::vector<float> row;
    if (row.size() < (size_t)K) row.resize((size_t)K);
    // F16 takes the table's F16C reader, which differs from dequant_row only in a NaN's quiet bit (a NaN
    // row's codes are unspecified, its bounds NaN either way).
    if (type.id == GGML_F16) t.f16_row_to_f32(w + r * rb, row.data(), K);
    else dequant(w + r * rb, row.data(), K, 0.0f);
    fn(r, row.data());
  });
}

}  // namespace

void encode_i8r_rows(const TensorType& type, const uint8_t* w, int64_t N, int64_t K, uint8_t* codes, float* scales) {
  const auto encode = table().encode_i8r_row;
  for_f32_rows(type, w, N, K, [&](int64_t r, const float* x) { encode(x, K, codes + r * K, scales + r); });
}

void screen_bounds_i8r(const TensorType& type, const uint8_t* w, const uint8_t* codes, const float* scales, int64_t N, int64_t K, float* out) {
  const auto bounds = table().screen_bounds_i8r_row;
  for_f32_rows(type, w, N, K, [&](int64_t r, const float* x) { bounds(x, codes + r * K, scales[r], K, out + 2 * r); });
}

}  // namespace bitnet
