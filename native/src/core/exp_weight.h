// The sampler's weights exp(x) for x ≤ 0 (weighLogits and sumExp, see packages/bitnet-kernels/src/api/Kernels.ts),
// written as a fixed sequence of double operations so that every kernel table and the TypeScript
// fallback (ts/SamplingWeights.ts) give the same bits: k = x·log2(e) rounded to an integer (ties to
// even, by adding and subtracting 1.5·2^52), r = (x − k·ln2_hi) − k·ln2_lo, then the degree-13 Taylor
// polynomial of e^r in Estrin's form (exp_poly: pairs, then r², r⁴, r⁸; a quarter of Horner's chain of
// dependent operations, which made the JavaScript version 1.5× faster; separate multiplies and adds:
// the build compiles with -ffp-contract=off, and JavaScript has no fused multiply-add), times 2^k.
// |r| ≤ 0.35, so the error is within 4 ulp. x < −708 gives 0 (e^x would be below the normal range),
// x > 709 +∞, NaN NaN.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

namespace bitnet {
namespace expw {

constexpr double kLog2e = 1.4426950408889634;
constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 32 significant bits: k·kLn2Hi is exact for |k| < 2^21
constexpr double kLn2Lo = 1.90821492927058770002e-10;
constexpr double kRound = 6755399441055744.0;  // 1.5·2^52
constexpr double kLow = -708.0, kHigh = 709.0;
/** c_j = 1/j! for j = 0..13, each the correctly rounded double of the exact quotient. */
constexpr double kC[14] = {1.0,           1.0,            1.0 / 2.0,        1.0 / 6.0,         1.0 / 24.0,         1.0 / 120.0,        1.0 / 720.0,
                           1.0 / 5040.0,  1.0 / 40320.0,  1.0 / 362880.0,   1.0 / 3628800.0,   1.0 / 39916800.0,   1.0 / 479001600.0,  1.0 / 6227020800.0};

/**
 * Σ c_j r^j in Estrin's form, on any type with + and * (double, or a SIMD wrapper doing the same per
 * lane): the one expression tree every implementation evaluates.
 */
template <class V, class Splat>
inline V exp_poly(V r, Splat c) {
  const V r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  const V q0 = (c(0) + c(1) * r) + (c(2) + c(3) * r) * r2;
  const V q1 = (c(4) + c(5) * r) + (c(6) + c(7) * r) * r2;
  const V q2 = (c(8) + c(9) * r) + (c(10) + c(11) * r) * r2;
  const V q3 = c(12) + c(13) * r;
  return (q0 + q1 * r4) + (q2 + q3 * r4) * r8;
}

inline double from_bits(uint64_t b) {
  double d;
  std::memcpy(&d, &b, sizeof d);
  return d;
}
inline uint64_t to_bits(double d) {
  uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

/** The scalar definition every implementation matches. */
inline double exp_weight(double x) {
  if (!(x >= kLow)) return x < kLow ? 0.0 : x;  // −∞ and below: 0; NaN stays NaN
  if (x > kHigh) return std::numeric_limits<double>::infinity();
  const double t = x * kLog2e + kRound;
  const double k = t - kRound;
  const int64_t ki = (int64_t)(to_bits(t) - to_bits(kRound));  // k as an integer: t and kRound share their exponent
  const double r = (x - k * kLn2Hi) - k * kLn2Lo;
  return exp_poly(r, [](int j) { return kC[j]; }) * from_bits((uint64_t)(ki + 1023) << 52);
}

/** Band of a logit d = (max − l)·band_scale below the largest: trunc(d) for 1 ≤ d < bands − 1, 0 below 1
 *  (a logit above `max` included), bands − 1 from there on (NaN too). */
inline uint8_t band_of(double d, int bands) { return d < bands - 1 ? (d >= 1.0 ? (uint8_t)(int)d : 0) : (uint8_t)(bands - 1); }

}  // namespace expw
}  // namespace bitnet
