#pragma once

#include <cstddef>

namespace bitnet {

/** Reads `bytes` of a fresh buffer `passes` times with all pool threads; returns bytes/second. */
double read_bandwidth(size_t bytes, int passes);

}  // namespace bitnet
