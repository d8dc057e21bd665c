// CPU feature detection (cpuid + xgetbv), the choice of one KernelTable at load (BITNET_ISA
// overrides), and the threaded drivers the binding calls. No Node-API in here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels.h"

namespace bitnet {

struct CpuFeatures {
  std::string vendor;
  bool sse2 = false, avx = false, avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512vnni = false, avx512bf16 = false;
  bool osxsave = false, os_ymm = false, os_zmm = false;  // XCR0: the OS saves YMM / ZMM+opmask state
};

const CpuFeatures& cpu_features();

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

// ---- drivers (threaded over output rows; every buffer already checked by the caller) ----
void quantize_i8_per_token(const float* x, int64_t rows, int64_t cols, int8_t* q, float* scales, int32_t* sums);
void quantize_q8k(const float* x, int64_t rows, int64_t cols, int8_t* q, float* d, int16_t* bsums);
void matmul_i2s_i8(const uint8_t* w, int64_t N, int64_t K, const int8_t* q, const float* scales, const int32_t* sums,
                   int64_t M, float* out);
/** kind: W_TQ1_0 or W_TQ2_0. */
void matmul_tq_q8k(int kind, const uint8_t* w, int64_t N, int64_t K, const int8_t* q, const float* d, int64_t M, float* out);
void quantize_q8_0(const float* x, int64_t rows, int64_t cols, int8_t* q, float* d);
void matmul_q8_0_q8_0(const uint8_t* w, int64_t N, int64_t K, const int8_t* q, const float* d, int64_t M, float* out);
/** kind: W_F32 .. W_Q6_K. */
void matmul_float(int kind, const uint8_t* w, int64_t N, int64_t K, const float* x, int64_t M, float* out);
/** kind: any WeightKind; ids already checked to be in [0, N). */
void get_rows(int kind, const uint8_t* w, int64_t N, int64_t K, const int32_t* ids, int64_t count, float* out);
void rms_norm(const float* x, int64_t rows, int64_t cols, const float* w, float eps, float* out);
void rope_neox(float* x, int64_t tokens, int64_t heads, int64_t headDim, int64_t ropeDim, const int32_t* positions, double freqBase);
void softmax(float* x, int64_t rows, int64_t cols);
void attention(const AttentionArgs& a);
void relu_sqr_mul(const float* gate, const float* up, float* out, int64_t n);
void silu_mul(const float* gate, const float* up, float* out, int64_t n);
void add(const float* a, const float* b, float* out, int64_t n);
/** TQ1_0 → TQ2_0, block for block: the same trits and f16 scale bytes (on the thread pool). */
void repack_tq1_0_as_tq2_0(const uint8_t* src, int64_t blocks, uint8_t* dst);
/** Q8_0 blocks (34 bytes per 32 values) of x, as ggml's quantize_row_q8_0_ref (on the thread pool). */
void encode_q8_0(const float* x, int64_t blocks, uint8_t* out);
void scale(const float* x, float s, float* out, int64_t n);
void to_f16(const float* x, uint16_t* out, int64_t n);

/** Bytes of one weight row of K values (I2_S: K/4, without the tensor trailer). */
size_t row_bytes(int kind, int64_t K);
/** Block size of a kind (1 for F32/F16/BF16). */
int64_t block_size(int kind);

/** Reads `bytes` of a fresh buffer `passes` times with all pool threads; returns bytes/second. */
double read_bandwidth(size_t bytes, int passes);

}  // namespace bitnet
