// x86 intrinsics for the kernel sources. In the test-only emulated builds (BITNET_AVX512_EMULATED,
// BITNET_AVXVNNI_EMULATED: the AVX-512 or AVX-VNNI sources compiled for an AVX2 machine) SIMDe
// supplies the AVX-512 intrinsics under their usual names; everything else includes <immintrin.h>.
#pragma once

#if defined(BITNET_AVX512_EMULATED) || defined(BITNET_AVXVNNI_EMULATED)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <simde/x86/f16c.h>
#include <simde/x86/fma.h>
#else
#include <immintrin.h>
#endif
