// The references of the sampler's kernels: the weighing pass (weighLogits) and the logprobs' sum
// (sumExp), the scalar definition of core/exp_weight.h one element at a time, and the greedy choice
// (argmax), the plain loop.
#include "../core/exp_weight.h"
#include "ref.h"

namespace bitnet {
namespace ref {

void weigh_logits_ref(const float* l, int64_t n, double max, double temperature, double band_scale, int bands, double* weights, uint8_t* band) {
  for (int64_t i = 0; i < n; ++i) {
    const double x = (double)l[i];
    weights[i] = expw::exp_weight((x - max) / temperature);
    band[i] = expw::band_of((max - x) * band_scale, bands);
  }
}

int64_t argmax_from_ref(const float* x, int64_t n, int64_t best, int64_t from) {
  for (int64_t i = from; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return best;
}

int64_t argmax_ref(const float* x, int64_t n) { return argmax_from_ref(x, n, 0, 1); }

int64_t argmax_finish(const float* x, int64_t n, const int32_t* at, int lanes, int64_t from) {
  int64_t b = 0;  // every lane −∞ (or never set): the loop's best is still 0
  for (int l = 0; l < lanes; ++l)
    if (at[l] >= 0 && (x[at[l]] > x[b] || (x[at[l]] == x[b] && at[l] < b))) b = at[l];
  return argmax_from_ref(x, n, b, from);
}

double sum_exp_finish(double* lanes, const float* x, int64_t from, int64_t n, double max) {
  for (int64_t i = from; i < n; ++i)
    if (x[i] > -__builtin_inff()) lanes[i & 7] += expw::exp_weight((double)x[i] - max);
  return ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]));
}

double sum_exp_ref(const float* x, int64_t n, double max) {
  double lanes[8] = {};
  return sum_exp_finish(lanes, x, 0, n, max);
}

}  // namespace ref
}  // namespace bitnet
