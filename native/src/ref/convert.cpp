// Reference row kernels of the load-time conversions (convert/): the Q8_0 weight encoder, the F16
// row reader it starts from, and the TQ1_0 → TQ2_0 repack. The SIMD tables' versions are tested
// against these bit for bit.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "../core/scalar.h"
#include "../core/tensor_types.h"
#include "ref.h"

namespace bitnet {
namespace ref {

namespace {

/**
 * Byte tables for the repack. TQ2_0 byte (c, j) holds elements 128c + 32n + j in bits 2n. In TQ1_0,
 * element 32n + m (n < 5) is trit n of qs[m], element 160 + 16n + m is trit n of qs[32 + m], and
 * element 240 + 4n + j is trit n of qh[j]. So byte (0, j) is trits 0..3 of qs[j]; byte (1, j) is trit
 * 4 of qs[j], then for j < 16 trits 0, 2, 4 of qs[32 + j], for j ≥ 16 trits 1, 3 of qs[16 + j] and
 * trit (j − 16) / 4 of qh[j mod 4]. Codes are the stored 0..2 (weight + 1) in both types.
 */
struct RepackTables {
  uint8_t t[256][5];   // trit n of byte b
  uint8_t p0123[256];  // trits 0..3 in bits 0..7
  uint8_t p024[256];   // trits 0, 2, 4 in bits 0..5
  uint8_t p13[256];    // trits 1, 3 in bits 0..3
  RepackTables() {
    for (int b = 0; b < 256; ++b) {
      for (int n = 0; n < 5; ++n) t[b][n] = (uint8_t)tq1_trit((uint8_t)b, n);
      p0123[b] = (uint8_t)(t[b][0] | t[b][1] << 2 | t[b][2] << 4 | t[b][3] << 6);
      p024[b] = (uint8_t)(t[b][0] | t[b][2] << 2 | t[b][4] << 4);
      p13[b] = (uint8_t)(t[b][1] | t[b][3] << 2);
    }
  }
};

void repack_block(const RepackTables& T, const uint8_t* s, uint8_t* d) {
  const uint8_t* qh = s + 48;
  for (int j = 0; j < 32; ++j) d[j] = T.p0123[s[j]];
  for (int j = 0; j < 16; ++j) d[32 + j] = (uint8_t)(T.t[s[j]][4] | T.p024[s[32 + j]] << 2);
  for (int j = 16; j < 32; ++j)
    d[32 + j] = (uint8_t)(T.t[s[j]][4] | T.p13[s[16 + j]] << 2 | T.t[qh[j & 3]][(j - 16) >> 2] << 6);
  d[64] = s[52];
  d[65] = s[53];
}

}  // namespace

void encode_q8_0_row_ref(const float* x, int64_t K, uint8_t* out) {
  for (int64_t b = 0; b < K / QK8_0; ++b) {
    const float* v = x + b * QK8_0;
    uint8_t* o = out + b * Q8_0_BYTES;
    float amax = 0.0f;
    for (int j = 0; j < QK8_0; ++j) amax = std::max(amax, std::fabs(v[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t h = f32_to_f16(d);
    o[0] = (uint8_t)(h & 0xff);
    o[1] = (uint8_t)(h >> 8);
    for (int j = 0; j < QK8_0; ++j) o[2 + j] = (uint8_t)(int8_t)std::round(v[j] * id);
  }
}

void f16_row_to_f32_ref(const uint8_t* src, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float f = f16_to_f32(load_u16(src + 2 * i));
    if (f != f) f = f32_from_bits(f32_bits(f) | 0x00400000u);  // a NaN comes out quiet, as from vcvtph2ps
    out[i] = f;
  }
}

void repack_tq1_0_blocks_ref(const uint8_t* src, int64_t blocks, uint8_t* dst) {
  static const RepackTables tables;
  for (int64_t b = 0; b < blocks; ++b) repack_block(tables, src + b * TQ1_0_BYTES, dst + b * TQ2_0_BYTES);
}

}  // namespace ref
}  // namespace bitnet
