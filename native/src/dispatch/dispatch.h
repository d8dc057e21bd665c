// The one kernel table of the process, chosen once at load: the best instruction set the CPU and OS
// can run (cpuid + xgetbv, see cpu_features.h), or the one BITNET_ISA names. No Node-API in here.
#pragma once

#include <string>
#include <vector>

#include "../core/kernel_table.h"
#include "cpu_features.h"

namespace bitnet {

/** ISAs this build has code for ("generic", "avx2", "avxvnni", "avx512", "avx512vbmi"), best last. */
std::vector<std::string> compiled_isas();
/** Compiled ISAs the CPU and OS can run, best last. */
std::vector<std::string> available_isas();
/** Why `isa` cannot run here ("" when it can). */
std::string isa_unavailable_reason(const std::string& isa);

/** Selects the table once (BITNET_ISA or the best available). Throws std::runtime_error for a bad BITNET_ISA. */
void init_dispatch();
const KernelTable& table();
/**
 * Where the ternary matmuls prefetch the weight rows they stream (in decode each weight is read once a
 * token): kNta, 8 KB ahead with prefetchnta (into L1, bypassing most of the cache hierarchy; the
 * register tiles of several activation rows use prefetcht0 8 KB ahead), or kL2, 32 KB ahead with
 * prefetcht1 (into L2), rows and tiles alike. Chosen once: BITNET_PREFETCH=nta|l2, else kL2 on AMD
 * family 25 (Zen 4 with AVX-512: the kNta rows streamed ~23 of 34 GB/s there, kL2 ~31) and kNta
 * elsewhere (Zen 5: kNta measured best of nta/t0). Throws std::runtime_error for another value.
 * The same profile picks FloatMatmulArgs::x_f16 (the F16 tiles' activation form; see drivers.cpp).
 */
enum class StreamPrefetch { kNta, kL2 };
StreamPrefetch stream_prefetch();
const char* stream_prefetch_name(StreamPrefetch p);
/** Test hook: switch the table of the whole process. Throws when `isa` is unknown or unavailable. */
void set_isa(const std::string& isa);

}  // namespace bitnet
