// The AVX-VNNI kernels (each source in this folder is compiled with -mavx2 -mfma -mf16c -mavxvnni).
// Selected when the CPU has AVX-VNNI and the AVX2 set but not the AVX-512 one (which is preferred), and
// the OS saves YMM state. Everything not here comes from the AVX2 table.
//
// BITNET_AVXVNNI_EMULATED (test-only build, see CMakeLists.txt): these sources are compiled for AVX2
// with SIMDe implementing the VNNI intrinsic, so machines without AVX-VNNI can test them.
#pragma once

#include <cstdint>

#include "../../core/kernel_table.h"

namespace bitnet {
namespace avxvnni {

// ternary.cpp
void matmul_i2s_i8_vnni(const TernaryMatmulArgs& a, int64_t n0, int64_t n1);
void matmul_tq2_0_q8k_vnni(const TernaryMatmulArgs& a, int64_t n0, int64_t n1);
// i8r.cpp
void matmul_i8r_i8_vnni(const I8rMatmulArgs& a, int64_t n0, int64_t n1);
uint64_t int8_peak_vnni(uint64_t rounds, int64_t* checksum);  // peak.cpp

}  // namespace avxvnni
}  // namespace bitnet
