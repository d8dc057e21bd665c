// Generic C++ kernels (no ISA flags): the portable reference, exposed as the "generic" table.
#include "common.h"
#include "kernels.h"

namespace bitnet {
namespace generic {
namespace {
#include "kernels_portable.inl"
}  // namespace
}  // namespace generic

const KernelTable* kernel_table_generic() {
  static const KernelTable t = generic::portable_table("generic");
  return &t;
}

}  // namespace bitnet
