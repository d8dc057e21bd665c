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

/** What int8_peak measured: multiply-adds per second with all pool threads (best of the passes), and the
 *  last pass's multiply-adds and accumulator checksum over all threads (2 per multiply-add when right). */
struct Int8Peak {
  double per_second;
  uint64_t multiply_adds;
  int64_t checksum;
};

/** Runs the selected table's int8_peak loop, `rounds` rounds on every pool thread at once, `passes` times. */
Int8Peak int8_peak(uint64_t rounds, int passes);

}  // namespace bitnet
