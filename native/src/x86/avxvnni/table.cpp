// The AVX-VNNI kernel table: the AVX2 table with the I2_S and TQ2_0 matmuls replaced by their
// vpdpbusd versions (TQ1_0 keeps the AVX2 unpack + vpmaddubsw; the float kernels are AVX2's).
#include "../avx2/kernels.h"
#include "kernels.h"

namespace bitnet {

const KernelTable* kernel_table_avxvnni() {
  static const KernelTable t = [] {
    KernelTable t = avx2::avx2_table("avxvnni");
    t.types[GGML_I2_S].matmul_ternary = avxvnni::matmul_i2s_i8_vnni;
    t.types[GGML_TQ2_0].matmul_ternary = avxvnni::matmul_tq2_0_q8k_vnni;
    t.matmul_i8r_i8 = avxvnni::matmul_i8r_i8_vnni;
    t.int8_peak = avxvnni::int8_peak_vnni;
    return t;
  }();
  return &t;
}

}  // namespace bitnet
