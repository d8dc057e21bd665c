// TQ2_0 × Q8_K for the avx512vbmi table. One activation row: avx512's decode kernel (tq2_decode.h)
// with fields 1 and 2 of each code byte looked up by vpermb, which indexes by a byte's low six bits, so
// one instruction maps a byte straight to bits 2–3 or 4–5 as a code 0..3, where a 16-bit shift and a
// mask took two. Field 0 stays a mask and field 3 a shift and mask (vpermb never sees bits 6–7). The
// codes are the same bytes, so the integer lanes, and every result, are those of the avx512 kernel.
// Measured on Zen 4 (see tq2_decode.h): 36.3 → 32.0 cycles per four rows and block; GFNI's affine
// byte transform for field 3, or vpermb on a shifted copy, measured no faster. Several rows: avx512's
// register tiles (their field extraction is shared by four activation pairs; the arithmetic bounds
// them, and a tile pairing weight rows instead, whose da·dw products spread by vpermps, ran slower).
#include <cstdint>

#include "../avx512/kernels.h"
#include "../avx512/tq2_decode.h"
#include "kernels.h"

namespace bitnet {
namespace avx512vbmi {

namespace {

/** Byte i of a table: (i >> S) & 3, for vpermb lookups of the field at bit S of a code byte. */
template <int S>
__m512i field_table() {
  alignas(64) uint8_t t[64];
  for (int i = 0; i < 64; ++i) t[i] = (uint8_t)((i >> S) & 3);
  return _mm512_load_si512((const void*)t);
}

struct LookupFields {
  __m512i t1 = field_table<2>(), t2 = field_table<4>();
  __m512i f1(__m512i w) const { return _mm512_permutexvar_epi8(w, t1); }
  __m512i f2(__m512i w) const { return _mm512_permutexvar_epi8(w, t2); }
};

}  // namespace

void matmul_tq2_0_q8k_vbmi(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  if (a.M == 1) return avx512::tq2_decode512(a, n0, n1, LookupFields{});
  avx512::tq2_tiles_512(a, n0, n1);
}

}  // namespace avx512vbmi
}  // namespace bitnet
