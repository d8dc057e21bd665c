// The AVX-512 VBMI kernel table: the avx512 table with TQ2_0's one-row matmul on vpermb fields.
#include "../../core/kernel_table.h"
#include "kernels.h"

namespace bitnet {

const KernelTable* kernel_table_avx512vbmi() {
  static const KernelTable t = [] {
    KernelTable t = *kernel_table_avx512();
    t.isa = "avx512vbmi";
    t.types[GGML_TQ2_0].matmul_ternary = avx512vbmi::matmul_tq2_0_q8k_vbmi;
    return t;
  }();
  return &t;
}

}  // namespace bitnet
