// The tensor types the kernels know, keyed by ggml's own type ids (the numbers stored in GGUF files;
// I2_S is 36 as Microsoft's bitnet.cpp numbers it). One row per type in tensor_types.cpp holds its
// block geometry and the format its integer matmul wants the activations in; the kernels of a type
// sit in each instruction set's KernelTable under the same id (KernelTable::types[id]).
//
// Adding a type: a row in tensor_types.cpp, its block constants below if kernels need them at compile
// time, its kernels (ref/ first, then any SIMD versions) registered in the tables, and tests.
// packages/bitnet-models/src/tensor/GgmlType.ts is the TypeScript list of the same ids.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bitnet {

/** ggml type ids (enum ggml_type; 36 from bitnet.cpp). Only the ones with kernels are listed. */
enum GgmlType : int {
  GGML_F32 = 0,
  GGML_F16 = 1,
  GGML_Q8_0 = 8,
  GGML_Q4_K = 12,
  GGML_Q6_K = 14,
  GGML_BF16 = 30,
  GGML_TQ1_0 = 34,
  GGML_TQ2_0 = 35,
  GGML_I2_S = 36,
};
/** Size of arrays indexed by a type id (largest id above + 1). */
constexpr int kTypeSlots = 37;

// ---- block geometry (ggml / bitnet.cpp), for kernels that need it at compile time -------------------
constexpr int64_t QK_K = 256;          // TQ1_0, TQ2_0, Q4_K, Q6_K, Q8_K super-block
constexpr int64_t QK_I2S = 128;        // I2_S block: 128 values in 32 bytes
constexpr int64_t QK8_0 = 32;
constexpr size_t TQ1_0_BYTES = 54;     // qs[48], qh[4], f16 d
constexpr size_t TQ2_0_BYTES = 66;     // qs[64], f16 d
constexpr size_t Q8_0_BYTES = 34;      // f16 d, qs[32]
constexpr size_t Q4_K_BYTES = 144;     // f16 d, f16 dmin, scales[12], qs[128]
constexpr size_t Q6_K_BYTES = 210;     // ql[128], qh[64], scales[16], f16 d
constexpr size_t I2_S_BYTES = 32;      // 128 2-bit codes

/** What the activations of a type's integer matmul look like (F32: the type has only the float matmul). */
enum class ActivationFormat : int {
  F32,           // f32 rows (matmulFloat)
  Q8_0,          // int8 + one f16-valued scale per 32 (quantizeQ8_0; matmulQ8_0Q8_0)
  Q8_K,          // int8 + one f32 scale per 256 (quantizeQ8K; matmulTq*_0Q8K)
  I8_PER_TOKEN,  // int8 + one scale and one sum per row (quantizeI8PerToken; matmulI2sI8)
};

struct TensorType {
  GgmlType id;
  const char* name;
  int64_t block_size;    // values per block (1 for plain floats)
  size_t block_bytes;    // bytes per block
  size_t trailer_bytes;  // bytes after the last row of a whole tensor (I2_S: its f32 scale)
  ActivationFormat activations;
  /** Largest K the integer kernels accept: their int32 lanes must not overflow (0: no bound of their own). */
  int64_t max_k;
};

/** The row of ggml type `id`, or nullptr when the kernels do not know it. */
const TensorType* tensor_type(int64_t id);

/** Bytes of one row of K values (K a multiple of the block size; without the tensor trailer). */
inline size_t row_bytes(const TensorType& t, int64_t K) { return (size_t)(K / t.block_size) * t.block_bytes; }

}  // namespace bitnet
