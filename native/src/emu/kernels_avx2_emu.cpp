// Test-only build (BITNET_AVX512_EMULATED): the AVX2 kernels, unchanged.
#include "../kernels_avx2.cpp"
