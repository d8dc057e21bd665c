// Q8_0 block encoding of f32 values (load time: an f32 matrix stored as Q8_0 weights). Not to be
// confused with the Q8_0 activation quantizer of the kernel tables, which writes int8 and f32 scales.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "../core/scalar.h"
#include "../threads/parallel.h"
#include "convert.h"

namespace bitnet {

void encode_q8_0(const float* x, int64_t blocks, uint8_t* out) {
  for_blocks(blocks, [&](int64_t b) {
    const float* v = x + b * 32;
    uint8_t* o = out + b * 34;
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(v[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t h = f32_to_f16(d);
    o[0] = (uint8_t)(h & 0xff);
    o[1] = (uint8_t)(h >> 8);
    for (int j = 0; j < 32; ++j) o[2 + j] = (uint8_t)(int8_t)std::round(v[j] * id);
  });
}

}  // namespace bitnet
