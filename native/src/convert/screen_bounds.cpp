// screenBoundsQ8_0: per row of a float matrix and its Q8_0 copy, bounds a caller uses to screen
// logits with the copy. Each bound is the smallest f32 at or above an exact value, one number however
// it is computed: the TypeScript kernel (packages/bitnet-kernels/src/ts/ScreenBounds.ts) finds it in
// double, this one per element in f32 (vectorized: ~2.7 ns a weight on one AMD EPYC thread against
// ~12 for the same steps in scalar double). The one product, d·q, is exact, so a contracted
// multiply-add could not change a result.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../core/scalar.h"
#include "../dispatch/dispatch.h"
#include "../threads/parallel.h"
#include "convert.h"

namespace bitnet {

namespace {

/** The smallest f32 ≥ v for v exact in double (|d|·Σ|q| is); NaN for NaN. */
float round_up_f32(double v) {
  if (std::isnan(v)) return std::numeric_limits<float>::quiet_NaN();
  const float f = (float)v;
  return (double)f < v ? std::nextafter(f, std::numeric_limits<float>::infinity()) : f;
}

/** f32 bits of |v|: for values ≥ 0 their order as unsigned integers is their order as floats, and a NaN's is above +Inf's. */
inline uint32_t abs_bits(float v) { return f32_bits(v) & 0x7fffffffu; }
constexpr uint32_t kInfBits = 0x7f800000u;

/**
 * The three bounds of one row: w its K values, q its K/32 Q8_0 blocks. Per element, in f32, where
 * every step is exact: ŵ = d·q (an f16 times an int8: 19 bits), the TwoSum of w − ŵ (s the nearest
 * f32 to the difference, e its exact error), and the smallest f32 at or above the exact |w − ŵ|:
 * |s|, or the next f32 when the error points away from zero. The largest of those is the rounding
 * up of the largest exact difference (rounding up is monotone), as the TypeScript kernel finds it in
 * double. Maxima are taken on the bits of |v| (abs_bits), so a NaN anywhere comes out as one and the
 * loop has no data-dependent branch.
 */
void row_bounds(const float* w, const uint8_t* q, int64_t K, float* out) {
  uint32_t diff_max = 0, mag_max = 0;
  double block_max = 0.0;
  bool block_nan = false;
  for (int64_t b = 0; b < K / QK8_0; ++b) {
    const uint8_t* blk = q + b * Q8_0_BYTES;
    const float* wb = w + b * QK8_0;
    const float d = f16_to_f32(load_u16(blk));
    int32_t q_sum = 0;
    for (int i = 0; i < QK8_0; ++i) {
      const int32_t qi = (int8_t)blk[2 + i];
      q_sum += qi < 0 ? -qi : qi;
      const float wk = wb[i];
      const float wh = d * (float)qi;  // exact
      const float s = wk - wh;
      const float bv = s - wk;
      const float e = (wk - (s - bv)) + (-wh - bv);
      // e away from zero (e with s's sign taken off is > 0): the exact |w − ŵ| lies above |s| (e is NaN when s is ±Inf)
      const uint32_t up = f32_from_bits(f32_bits(e) ^ (f32_bits(s) & 0x80000000u)) > 0.0f;
      const uint32_t c = abs_bits(s) + up;
      diff_max = c > diff_max ? c : diff_max;
      const uint32_t aw = abs_bits(wk), ah = abs_bits(wh);
      const uint32_t m = aw > ah ? aw : ah;
      mag_max = m > mag_max ? m : mag_max;
    }
    const double sum = std::fabs((double)d) * (double)q_sum;  // exact: an f16 value times an integer < 2^13
    block_nan |= sum != sum;
    block_max = sum > block_max ? sum : block_max;
  }
  const float nan = std::numeric_limits<float>::quiet_NaN();
  out[0] = diff_max > kInfBits ? nan : f32_from_bits(diff_max);
  out[1] = block_nan ? nan : round_up_f32(block_max);
  out[2] = mag_max > kInfBits ? nan : f32_from_bits(mag_max);
}

}  // namespace

void screen_bounds_q8_0(const TensorType& type, const uint8_t* w, const uint8_t* q, int64_t N, int64_t K, float* out) {
  const DequantRowFn dequant = table().types[type.id].dequant_row;
  const size_t rb = row_bytes(type, K), qb = (size_t)(K / QK8_0) * Q8_0_BYTES;
  // Each row is read into an f32 row that stays in L1 (as encode_q8_0_rows does), then bounded from there.
  for_rows(N, K, [&](int64_t r) {
    thread_local std::vector<float> row;
    if (row.size() < (size_t)K) row.resize((size_t)K);
    dequant(w + r * rb, row.data(), K, 0.0f);
    row_bounds(row.data(), q + r * qb, K, out + 3 * r);
  });
}

}  // namespace bitnet
