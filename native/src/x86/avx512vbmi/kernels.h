// The AVX-512 VBMI kernels (each source in this folder is compiled with the AVX-512 flags plus
// -mavx512vbmi). Selected when the CPU has everything the avx512 table needs and AVX512_VBMI (Ice Lake
// and later Intel cores, Zen 4 and later; not Cooper Lake). Everything not here comes from the avx512
// table.
//
// BITNET_AVX512_EMULATED (test-only build, see CMakeLists.txt): these sources are compiled for AVX2
// with SIMDe implementing the intrinsics, so machines without VBMI can test them.
#pragma once

#include <cstdint>

#include "../../core/kernel_table.h"

namespace bitnet {
namespace avx512vbmi {

// ternary_tq2.cpp: TQ2_0 × Q8_K, one activation row with vpermb fields; several rows: avx512's tiles
void matmul_tq2_0_q8k_vbmi(const TernaryMatmulArgs& a, int64_t n0, int64_t n1);

}  // namespace avx512vbmi
}  // namespace bitnet
