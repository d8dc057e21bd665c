#include "cpu_features.h"

#include <cstdint>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define BITNET_X86 1
#endif

namespace bitnet {

namespace {

#if BITNET_X86
uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#if BITNET_X86
  unsigned a, b, c, d;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return f;
  const unsigned max_leaf = a;
  char vendor[13];
  std::memcpy(vendor, &b, 4);
  std::memcpy(vendor + 4, &d, 4);
  std::memcpy(vendor + 8, &c, 4);
  vendor[12] = 0;
  f.vendor = vendor;
  __cpuid_count(1, 0, a, b, c, d);
  {
    const int base = (int)((a >> 8) & 0xf), ext = (int)((a >> 20) & 0xff);
    const int mod = (int)((a >> 4) & 0xf), extm = (int)((a >> 16) & 0xf);
    f.family = base == 0xf ? base + ext : base;
    f.model = (base == 0xf || base == 0x6) ? (extm << 4) | mod : mod;
  }
  f.sse2 = (d >> 26) & 1;
  f.fma = (c >> 12) & 1;
  f.osxsave = (c >> 27) & 1;
  f.avx = (c >> 28) & 1;
  f.f16c = (c >> 29) & 1;
  if (f.osxsave) {
    const uint64_t xcr0 = xgetbv0();
    f.os_ymm = (xcr0 & 0x6) == 0x6;     // SSE + AVX state
    f.os_zmm = (xcr0 & 0xe6) == 0xe6;   // + opmask, ZMM_Hi256, Hi16_ZMM
  }
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    const unsigned max_sub = a;
    f.avx2 = (b >> 5) & 1;
    f.avx512f = (b >> 16) & 1;
    f.avx512dq = (b >> 17) & 1;
    f.avx512bw = (b >> 30) & 1;
    f.avx512vl = (b >> 31) & 1;
    f.avx512vbmi = (c >> 1) & 1;
    f.avx512vnni = (c >> 11) & 1;
    if (max_sub >= 1) {
      __cpuid_count(7, 1, a, b, c, d);
      f.avxvnni = (a >> 4) & 1;
      f.avx512bf16 = (a >> 5) & 1;
    }
  }
#endif
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

}  // namespace bitnet
