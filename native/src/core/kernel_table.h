// The kernel table: one instance per instruction set (ref/table.cpp, x86/avx2/table.cpp,
// x86/avx512/table.cpp), each filled with kernels compiled with that set's flags. The drivers in
// threads/drivers.cpp split work across the thread pool and call these per range of output rows;
// nothing here touches Node-API.
//
// Semantics are those of packages/bitnet-kernels/src/api/Kernels.ts. The binding has checked every
// buffer length against the shapes before a driver runs, so kernels trust their arguments.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor_types.h"

namespace bitnet {

/** Ternary weights × int8 activations. Output rows [n0, n1) of all M activation rows. */
struct TernaryMatmulArgs {
  const uint8_t* w;   // weight bytes as in the GGUF (row n starts at w + n * row_bytes)
  size_t row_bytes;   // I2_S: K/4; TQ2_0: K/256·66; TQ1_0: K/256·54
  int64_t K;          // input features (I2_S: multiple of 128; TQ: multiple of 256)
  int64_t N;          // output features
  int64_t M;          // activation rows
  const int8_t* q;    // M × K int8 activations
  const float* scale; // I2_S: M per-token scales s; TQ: M × K/256 block scales d
  const int32_t* sum; // I2_S: M per-token sums (as given); TQ: M × K/32 exact Σq of each 32-value group
  float wscale;       // I2_S: the tensor scale
  float* out;         // M × N
  bool stream_l2;     // weights prefetched into L2 (prefetcht1, 32 KB ahead) instead of 8 KB ahead (rows NTA, tiles T0)
};
using TernaryMatmulFn = void (*)(const TernaryMatmulArgs&, int64_t n0, int64_t n1);

/** Float / k-quant weights × f32 activations. */
struct FloatMatmulArgs {
  const uint8_t* w;
  size_t row_bytes;
  int64_t K, N, M;
  const float* x;  // M × K
  float* out;      // M × N
  /** F16 register tiles of 3+ activation rows may read x as f16 when every value is one (same values,
   *  same bits): true under StreamPrefetch::kNta, false under kL2 (see drivers.cpp: matmul_float). */
  bool x_f16;
  /** The weight rows are not read in order (matmulFloatPicked's one-row views): a kernel need not
   *  prefetch past them (the caller prefetches the next ones). Never changes a bit. */
  bool scattered_rows;
};
using FloatMatmulFn = void (*)(const FloatMatmulArgs&, int64_t n0, int64_t n1);

/** Q8_0 weights × Q8_0 activations. Output rows [n0, n1) of all M activation rows. */
struct Q8_0MatmulArgs {
  const uint8_t* w;   // Q8_0 blocks as in the GGUF (row n starts at w + n * row_bytes)
  size_t row_bytes;   // K/32·34
  int64_t K, N, M;    // K a multiple of 32
  const int8_t* q;    // M × K int8 activations (each in [-127, 127])
  const float* d;     // M × K/32 activation block scales (f16 values)
  float* out;         // M × N
  bool stream_l2;     // prefetch policy, as TernaryMatmulArgs::stream_l2
};
using Q8_0MatmulFn = void (*)(const Q8_0MatmulArgs&, int64_t n0, int64_t n1);

/**
 * I8r weights (int8 codes offset by 128, one f32 scale per row) × per-token int8 activations
 * (matmulI8rI8). Output rows [n0, n1) of all M activation rows.
 */
struct I8rMatmulArgs {
  const uint8_t* codes;  // N × K codes, row n at codes + n·K
  const float* wscale;   // N row scales
  int64_t K, N, M;       // K a multiple of 32, at most 32768
  const int8_t* q;       // M × K int8 activations
  const float* scale;    // M per-token scales
  const int32_t* sum;    // M per-token sums (as given)
  float* out;            // M × N
  bool stream_l2;        // prefetch policy, as TernaryMatmulArgs::stream_l2
};
using I8rMatmulFn = void (*)(const I8rMatmulArgs&, int64_t n0, int64_t n1);

/** Dequantize one row of K values (scale: the I2_S tensor scale, unused otherwise). */
using DequantRowFn = void (*)(const uint8_t* src, float* out, int64_t K, float scale);

struct AttentionArgs {
  const float* q;       // tokens × heads × headDim
  const uint16_t* k;    // f16 keys, per block [kvHeads][blockTokens][headDim]: one kv head's positions contiguous
  const uint16_t* v;    // f16 values transposed, per block [kvHeads][headDim][blockTokens]: one dimension's positions contiguous
  float* out;           // tokens × heads × headDim
  int64_t tokens, heads, kvHeads, headDim, startPos, capacity;
  float scale;
  /** Every query row uses the one-token arithmetic (ggml_vec_dot_f16), as if decoded alone; otherwise
   *  a call of ≥ 2 tokens is a batch (tinyBLAS's 8 lanes), as llama.cpp evaluates a ubatch. */
  bool independentRows;
  /** Paged layout (KvShape.blocks): positions [j·blockTokens, (j+1)·blockTokens) are in block blocks[j]
   *  of k and v, blockTokens a multiple of 32, so no chunk of 32 (or 8) positions straddles two blocks.
   *  nullptr: one block (id 0) of blockTokens = capacity positions, any number. */
  const int32_t* blocks;
  int64_t blockTokens;
  /** Keys and values of the call's tokens (tokens × kvHeads × headDim f32 each) that attention_many
   *  stores into k_store / v_store (the caches k and v, writable) before they are read; nullptr: none. */
  const float* new_k = nullptr;
  const float* new_v = nullptr;
  uint16_t* k_store = nullptr;
  uint16_t* v_store = nullptr;
  /** The batch arithmetic applies. */
  bool batch() const { return tokens >= 2 && !independentRows; }
  /** No query rows or no heads: nothing to compute (its keys and values may still be stored). */
  bool empty() const { return tokens == 0 || heads == 0; }
  /** Element offset, in k and in v, of kv head kvh's run in the block of positions from j·blockTokens:
   *  keys [blockTokens][headDim] and values [headDim][blockTokens] from there. */
  int64_t kv_offset(int64_t j, int64_t kvh) const {
    const int64_t b = blocks ? blocks[j] : 0;
    return (b * kvHeads + kvh) * blockTokens * headDim;
  }
};

/** The kernels of one tensor type (nullptr: none for this type). */
struct TypeKernels {
  DequantRowFn dequant_row;         // getRows
  FloatMatmulFn matmul_f32;         // weights × f32 activations (ActivationFormat::F32 and any type offering it)
  TernaryMatmulFn matmul_ternary;   // I2_S × I8_PER_TOKEN, TQ1_0 / TQ2_0 × Q8_K
  Q8_0MatmulFn matmul_q8_0;         // Q8_0 × Q8_0
};

struct KernelTable {
  const char* isa;

  void (*quantize_i8_row)(const float* x, int64_t K, int8_t* q, float* scale, int32_t* sum);
  void (*quantize_q8k_row)(const float* x, int64_t K, int8_t* q, float* d, int16_t* bsums);
  void (*quantize_q8_0_row)(const float* x, int64_t K, int8_t* q, float* d);  // K % 32 == 0
  /** out[g] = Σ q[32g .. 32g + 31], exactly, for g in [0, groups) (the TQ matmuls' group sums). */
  void (*sum_groups32_i8)(const int8_t* q, int64_t groups, int32_t* out);

  /** Row kernels of each tensor type, indexed by ggml type id (see tensor_types.h). */
  TypeKernels types[kTypeSlots];

  void (*rms_norm_row)(const float* x, int64_t n, const float* w, float eps, float* out);
  /** rms_norm_row on the 4 rows x, x + n, x + 2n, x + 3n (out likewise), bit for bit. */
  void (*rms_norm_rows4)(const float* x, int64_t n, const float* w, float eps, float* out);
  void (*rope_neox_token)(float* x, int64_t heads, int64_t headDim, int64_t ropeDim, int32_t pos, double freqBase);
  void (*softmax_row)(float* x, int64_t n);
  /** Causal GQA attention of tokens [t0, t1) × the query heads reading kv head kvh; scratch holds
   *  attention_scratch_floats(a, t1) floats, 32-byte aligned. */
  void (*attention_group)(const AttentionArgs& a, int64_t t0, int64_t t1, int64_t kvh, float* scratch);
  void (*relu_sqr_mul)(const float* gate, const float* up, float* out, int64_t n);
  void (*silu_mul)(const float* gate, const float* up, float* out, int64_t n);
  void (*add)(const float* a, const float* b, float* out, int64_t n);
  void (*scale)(const float* x, float s, float* out, int64_t n);
  void (*to_f16)(const float* x, uint16_t* out, int64_t n);
  /** weighLogits' element-wise part: weights[i] = exp_weight((l[i] − max) / temperature) and
   *  band[i] = band_of((max − l[i]) · band_scale, bands), as core/exp_weight.h defines them. */
  void (*weigh_logits)(const float* l, int64_t n, double max, double temperature, double band_scale, int bands, double* weights, uint8_t* band);
  /** The index of the largest of x[0..n) (n ≥ 1), the first on ties (−0 = +0); NaN never largest, but a
   *  NaN x[0] gives 0 (as `best = 0; for i: if (x[i] > x[best]) best = i`). */
  int64_t (*argmax)(const float* x, int64_t n);
  /** The logprobs' sum: Σ exp_weight(x[i] − max) over x[i] > −∞ (NaN skipped), in 8 lanes (lane l takes
   *  the i ≡ l mod 8 in order), then ((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7)). */
  double (*sum_exp)(const float* x, int64_t n, double max);

  /** Load-time conversions (convert/): see ref::encode_q8_0_row_ref, ref::f16_row_to_f32_ref and
   *  ref::repack_tq1_0_blocks_ref. */
  void (*encode_q8_0_row)(const float* x, int64_t K, uint8_t* out);
  void (*f16_row_to_f32)(const uint8_t* src, float* out, int64_t n);
  void (*repack_tq1_0_blocks)(const uint8_t* src, int64_t blocks, uint8_t* dst);

  /** The screened output (core/i8r_rows.h): matmulI8rI8 over output rows [n0, n1); one row of
   *  encodeI8rRows (K f32 values → K codes and the row scale); one row of screenBoundsI8r (out[0], out[1]). */
  I8rMatmulFn matmul_i8r_i8;
  void (*encode_i8r_row)(const float* x, int64_t K, uint8_t* codes, float* scale);
  void (*screen_bounds_i8r_row)(const float* w, const uint8_t* codes, float scale, int64_t K, float* out);
  /** screenCandidates over one row (V ≥ 1 tokens; capacity = ids.length): the count, −1 or −2, as
   *  ref::screen_candidates_ref bit for bit (ids included, up to capacity, when it returns −2). */
  int64_t (*screen_candidates)(const float* a, const float* bounds, int64_t V, double c0, double c1, int32_t* ids, int64_t capacity);

  /** Streams n bytes (n % 64 == 0) with this ISA's widest loads; returns a checksum (bandwidth probe). */
  uint64_t (*stream_read)(const uint8_t* p, size_t n);
  /**
   * The int8 ceiling probe: `rounds` rounds of this ISA's widest u8 × s8 dot instruction (or the
   * instruction mix its int8 kernels use) in independent chains, on u8 1 × s8 2; returns the
   * multiply-adds done, and in *checksum the sum of every accumulator lane (2 per multiply-add).
   */
  uint64_t (*int8_peak)(uint64_t rounds, int64_t* checksum);
};

/** Where, in attention_group's scratch for vp positions (padded to 32), the p·V lanes start: after a
 *  row of scores and an f16-rounded query for each query head of the group (the reference kernel's one
 *  row of scores fits in the first of them) and room for keys transposed to f16 (in blocks of 16
 *  positions × headDim: the AVX-512 prefill scores). */
inline int64_t attention_scratch_lanes_at(const AttentionArgs& a, int64_t vp) {
  const int64_t group = a.heads / a.kvHeads;
  return group * (vp + a.headDim) + a.headDim * vp / 2;
}
/** Scratch floats attention_group needs for a block ending at token t1: the above, then 32 lanes per
 *  dimension of up to four heads (the SIMD p·V's accumulators between spans of positions, see
 *  value_span_lanes in value_walk.h). */
inline int64_t attention_scratch_floats(const AttentionArgs& a, int64_t t1) {
  const int64_t vp = (a.startPos + t1 + 31) / 32 * 32;
  return attention_scratch_lanes_at(a, vp) + 4 * 32 * a.headDim;
}

// One per instruction set, each defined in that set's folder.
const KernelTable* kernel_table_generic();  // ref/table.cpp
const KernelTable* kernel_table_avx2();     // x86/avx2/table.cpp
const KernelTable* kernel_table_avxvnni();  // x86/avxvnni/table.cpp
const KernelTable* kernel_table_avx512();   // x86/avx512/table.cpp
const KernelTable* kernel_table_avx512vbmi();  // x86/avx512vbmi/table.cpp (the avx512 table with VBMI kernels)

}  // namespace bitnet
