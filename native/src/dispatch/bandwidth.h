#pragma once

#include <cstddef>
#include <cstdint>

namespace bitnet {

/** Reads `bytes` of a fresh buffer `passes` times with all pool threads; returns bytes/second. */
double read_bandwidth(size_t bytes, int passes);

/**
 * Reads src[0, bytes) (rounded down to whole cache lines per thread) `passes` times with all pool
 * threads; returns bytes/second. Allocates and frees nothing: for memory that is already there (a
 * mapped file in the page cache), where a fresh buffer would have to be faulted in and given back.
 */
double read_bandwidth_of(const uint8_t* src, size_t bytes, int passes);

}  // namespace bitnet
