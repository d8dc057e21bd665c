// What the CPU and the OS support, from cpuid and xgetbv (x86; everything false elsewhere).
#pragma once

#include <string>

namespace bitnet {

struct CpuFeatures {
  std::string vendor;
  int family = 0, model = 0;  // display family and model (cpuid leaf 1, extended fields folded in)
  bool sse2 = false, avx = false, avx2 = false, fma = false, f16c = false;
  bool avxvnni = false;  // AVX-VNNI: VEX-encoded 256-bit vpdpbusd (cpuid 7.1 EAX bit 4)
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512vnni = false, avx512bf16 = false, avx512vbmi = false;
  bool osxsave = false, os_ymm = false, os_zmm = false;  // XCR0: the OS saves YMM / ZMM+opmask state
};

/** Detected once, on first call. */
const CpuFeatures& cpu_features();

}  // namespace bitnet
