// The reference of the sampler's weighing pass (weighLogits): the scalar definition of
// core/exp_weight.h, one element at a time.
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

}  // namespace ref
}  // namespace bitnet
