#include "tensor_types.h"

namespace bitnet {

namespace {

// Ternary kernels accumulate exact integers in int32 (and 16-bit partial) lanes; this bound on K keeps
// every partial sum (|code·4^k·q| summed over K) far from overflow.
constexpr int64_t kTernaryMaxK = int64_t{1} << 18;

constexpr TensorType kTypes[] = {
    // id          name     block  bytes        trailer  activations                        max_k
    {GGML_F32, "F32", 1, 4, 0, ActivationFormat::F32, 0},
    {GGML_F16, "F16", 1, 2, 0, ActivationFormat::F32, 0},
    {GGML_BF16, "BF16", 1, 2, 0, ActivationFormat::F32, 0},
    {GGML_Q8_0, "Q8_0", QK8_0, Q8_0_BYTES, 0, ActivationFormat::Q8_0, 0},
    {GGML_Q4_K, "Q4_K", QK_K, Q4_K_BYTES, 0, ActivationFormat::F32, 0},
    {GGML_Q6_K, "Q6_K", QK_K, Q6_K_BYTES, 0, ActivationFormat::F32, 0},
    {GGML_TQ1_0, "TQ1_0", QK_K, TQ1_0_BYTES, 0, ActivationFormat::Q8_K, kTernaryMaxK},
    {GGML_TQ2_0, "TQ2_0", QK_K, TQ2_0_BYTES, 0, ActivationFormat::Q8_K, kTernaryMaxK},
    {GGML_I2_S, "I2_S", QK_I2S, I2_S_BYTES, 4, ActivationFormat::I8_PER_TOKEN, kTernaryMaxK},
};

}  // namespace

const TensorType* tensor_type(int64_t id) {
  for (const TensorType& t : kTypes)
    if (t.id == id) return &t;
  return nullptr;
}

}  // namespace bitnet
