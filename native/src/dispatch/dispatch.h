// The one kernel table of the process, chosen once at load: the best instruction set the CPU and OS
// can run (cpuid + xgetbv, see cpu_features.h), or the one BITNET_ISA names. No Node-API in here.
#pragma once

#include <string>
#include <vector>

#include "../core/kernel_table.h"
#include "cpu_features.h"

namespace bitnet {

/** ISAs this build has code for ("generic", "avx2", "avx512"), best last. */
std::vector<std::string> compiled_isas();
/** Compiled ISAs the CPU and OS can run, best last. */
std::vector<std::string> available_isas();
/** Why `isa` cannot run here ("" when it can). */
std::string isa_unavailable_reason(const std::string& isa);

/** Selects the table once (BITNET_ISA or the best available). Throws std::runtime_error for a bad BITNET_ISA. */
void init_dispatch();
const KernelTable& table();
/** Test hook: switch the table of the whole process. Throws when `isa` is unknown or unavailable. */
void set_isa(const std::string& isa);

}  // namespace bitnet
