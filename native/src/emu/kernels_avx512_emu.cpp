// Test-only build (BITNET_AVX512_EMULATED): the AVX-512 kernels compiled for an AVX2 machine, their
// intrinsics implemented by SIMDe. Slow, but it runs the very code of kernels_avx512.cpp.
#include "../kernels_avx512.cpp"
