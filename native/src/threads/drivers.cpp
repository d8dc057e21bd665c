// The drivers the binding calls: each splits one kernel call over the thread pool (by output rows,
// rows or tasks) and runs the selected table's kernels on the parts. Every buffer has been checked by
// the binding; nothing here touches Node-API.
#include "drivers.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/scalar.h"
#include "../dispatch/dispatch.h"
#include "parallel.h"
#include "read_ahead.h"
#include "thread_pool.h"

namespace bitnet {

void quantize_i8_per_token(const float* x, int64_t rows, int64_t cols, int8_t* q, float* scales, int32_t* sums) {
  const KernelTable& t = table();
  for_rows(rows, cols, [&](int64_t r) { t.quantize_i8_row(x + r * cols, cols, q + r * cols, scales + r, sums + r); });
}

void quantize_q8k(const float* x, int64_t rows, int64_t cols, int8_t* q, float* d, int16_t* bsums) {
  const KernelTable& t = table();
  for_rows(rows, cols, [&](int64_t r) {
    t.quantize_q8k_row(x + r * cols, cols, q + r * cols, d + r * (cols / QK_K), bsums + r * (cols / 16));
  });
}

namespace {

/** Output columns [n0, n1) of all M rows times s, as the `scale` kernel computes it (nothing when s is 1). */
inline void scale_part(const KernelTable& t, float* out, int64_t M, int64_t N, int64_t n0, int64_t n1, float s) {
  if (s == 1.0f) return;
  for (int64_t m = 0; m < M; ++m) t.scale(out + m * N + n0, s, out + m * N + n0, n1 - n0);
}

/** The calling thread's group-sum buffer, grown as needed and kept (no allocation, no page faults per call). */
int32_t* group_sums_buffer(size_t n) {
  thread_local std::vector<int32_t> buf;
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

/**
 * Tells the read-ahead plan that a matmul over `key` starts (see ReadAheadPlan): its threads' first
 * rows, as the split of N rows (streamed: split_rows_streamed) hands them out; row_at(r) gives row r's
 * address and the bytes from there to the end of its matrix.
 */
template <class RowAt>
void plan_read_ahead(const void* key, int64_t N, int64_t bytes_per_row_all_m, bool streamed, RowAt&& row_at) {
  ReadAheadPlan& plan = ReadAheadPlan::instance();
  if (plan.budget() == 0) return;
  int64_t starts[ReadAhead::kMaxRanges];
  ReadAhead heads;
  heads.n = first_rows(N, bytes_per_row_all_m, streamed, starts, ReadAhead::kMaxRanges);
  for (int i = 0; i < heads.n; ++i) {
    const auto at = row_at(starts[i]);
    heads.p[i] = at.first;
    heads.bytes[i] = std::min(plan.budget(), at.second);
  }
  plan.on_matmul(key, heads);
}

/** plan_read_ahead for one matrix w of N rows of rb bytes, times M activation rows, split by split_rows. */
void plan_read_ahead_rows(const uint8_t* w, int64_t N, size_t rb, int64_t M) {
  plan_read_ahead(w, N, (int64_t)rb * M, false, [&](int64_t r) { return std::make_pair(w + r * rb, (size_t)(N - r) * rb); });
}

}  // namespace

void matmul_i2s_i8(const uint8_t* w, int64_t N, int64_t K, const int8_t* q, const float* scales, const int32_t* sums,
                   int64_t M, float* out, float out_scale) {
  const TernaryPart part{w, N, out, out_scale};
  matmul_ternary_many(*tensor_type(GGML_I2_S), &part, 1, K, q, scales, sums, M);
}

void matmul_tq_q8k(const TensorType& type, const uint8_t* w, int64_t N, int64_t K, const int8_t* q, const float* d, int64_t M, float* out,
                   float out_scale) {
  const TernaryPart part{w, N, out, out_scale};
  matmul_ternary_many(type, &part, 1, K, q, d, nullptr, M);
}

void matmul_ternary_many(const TensorType& type, const TernaryPart* parts, int64_t count, int64_t K, const int8_t* q, const float* act_scale,
                         const int32_t* act_sums, int64_t M) {
  const KernelTable& t = table();
  int64_t total = 0;
  for (int64_t j = 0; j < count; ++j) total += parts[j].N;
  if (M == 0 || total == 0) return;
  const bool i2s = type.id == GGML_I2_S;
  const int32_t* sums = act_sums;
  if (!i2s) {
    // Exact Σq of every 32-value group (8 per 256-block: what ggml's lane k of a block subtracts, its
    // bsums[2k] + bsums[2k+1]), from the int8 values themselves (bsums are not trusted); once for all parts.
    const int64_t ng = M * K / 32;
    int32_t* gsum = group_sums_buffer((size_t)ng);
    t.sum_groups32_i8(q, ng, gsum);
    sums = gsum;
  }
  const bool stream_l2 = stream_prefetch() == StreamPrefetch::kL2;
  std::array<TernaryMatmulArgs, kMaxTernaryParts> args;  // every field of the first `count` is set below
  for (int64_t j = 0; j < count; ++j) {
    TernaryMatmulArgs& a = args[(size_t)j];
    a.w = parts[j].w;
    a.row_bytes = row_bytes(type, K);
    a.K = K;
    a.N = parts[j].N;
    a.M = M;
    a.q = q;
    a.scale = act_scale;
    a.sum = sums;
    a.wscale = i2s ? load_f32(parts[j].w + (size_t)parts[j].N * a.row_bytes) : 0.0f;  // the tensor scale after the codes
    a.out = parts[j].out;
    a.stream_l2 = stream_l2;
  }
  const TernaryMatmulFn fn = t.types[type.id].matmul_ternary;
  // The rows of all parts end to end, split as one matrix's; a range over a part boundary runs as
  // two calls. Each row's arithmetic is its part's kernel's, wherever the split falls.
  auto rows = [&](int64_t n0, int64_t n1) {
    int64_t base = 0;
    for (int64_t j = 0; j < count && base < n1; base += parts[j].N, ++j) {
      const int64_t lo = std::max(n0, base) - base, hi = std::min(n1, base + parts[j].N) - base;
      if (lo >= hi) continue;
      fn(args[(size_t)j], lo, hi);
      scale_part(t, parts[j].out, M, parts[j].N, lo, hi, parts[j].out_scale);
    }
  };
  const int64_t rb = (int64_t)row_bytes(type, K);
  // Up to 8 activation rows (decode, batched decode) the weights come from memory once per call: one
  // contiguous share per thread, so the tiles' prefetch runs on across its chunks instead of every chunk
  // starting cold. 2B4T I2_S, 8 rows, Zen 4, paired runs: the step's ternary matmuls −1.8 % and −4.4 %
  // (O projection 152 → 140 µs, 165 → 152); TQ2_0's 8-row tiles, bound by arithmetic, and 4 rows: no change.
  const bool streamed = M <= 8;
  plan_read_ahead(parts[0].w, total, streamed ? rb : rb * M, streamed, [&](int64_t r) {
    int64_t j = 0;
    while (r >= parts[j].N) r -= parts[j++].N;
    return std::make_pair(parts[j].w + r * rb, (size_t)((parts[j].N - r) * rb));
  });
  if (streamed) split_rows_streamed(total, rb, rows);
  else split_rows(total, rb * M, rows);
}

void quantize_q8_0(const float* x, int64_t rows, int64_t cols, int8_t* q, float* d) {
  const KernelTable& t = table();
  for_rows(rows, cols, [&](int64_t r) { t.quantize_q8_0_row(x + r * cols, cols, q + r * cols, d + r * (cols / QK8_0)); });
}

void matmul_q8_0_q8_0(const uint8_t* w, int64_t N, int64_t K, const int8_t* q, const float* d, int64_t M, float* out, float out_scale) {
  const KernelTable& t = table();
  if (M == 0 || N == 0) return;
  Q8_0MatmulArgs a{};
  a.w = w;
  a.row_bytes = row_bytes(*tensor_type(GGML_Q8_0), K);
  a.K = K;
  a.N = N;
  a.M = M;
  a.q = q;
  a.d = d;
  a.out = out;
  a.stream_l2 = stream_prefetch() == StreamPrefetch::kL2;
  const Q8_0MatmulFn fn = t.types[GGML_Q8_0].matmul_q8_0;
  plan_read_ahead_rows(w, N, a.row_bytes, M);
  split_rows(N, (int64_t)a.row_bytes * M, [&](int64_t n0, int64_t n1) {
    fn(a, n0, n1);
    scale_part(t, out, M, N, n0, n1, out_scale);
  });
}

void matmul_i8r_i8(const uint8_t* codes, const float* wscale, int64_t N, int64_t K, const int8_t* q, const float* scales, const int32_t* sums,
                   int64_t M, float* out) {
  if (M == 0 || N == 0) return;
  I8rMatmulArgs a{codes, wscale, K, N, M, q, scales, sums, out, stream_prefetch() == StreamPrefetch::kL2};
  const I8rMatmulFn fn = table().matmul_i8r_i8;
  // As the ternary matmuls: up to 8 activation rows the codes stream from memory once, one contiguous
  // share per thread; more rows, the chunks of split_rows.
  const bool streamed = M <= 8;
  plan_read_ahead(codes, N, streamed ? K : K * M, streamed, [&](int64_t r) { return std::make_pair(codes + r * K, (size_t)((N - r) * K)); });
  if (streamed) split_rows_streamed(N, K, [&](int64_t n0, int64_t n1) { fn(a, n0, n1); });
  else split_rows(N, K * M, [&](int64_t n0, int64_t n1) { fn(a, n0, n1); });
}

void matmul_float(const TensorType& type, const uint8_t* w, int64_t N, int64_t K, const float* x, int64_t M, float* out) {
  const KernelTable& t = table();
  if (M == 0 || N == 0) return;
  FloatMatmulArgs a{};
  a.w = w;
  a.row_bytes = row_bytes(type, K);
  a.K = K;
  a.N = N;
  a.M = M;
  a.x = x;
  a.out = out;
  // The Zen 5 tiles read f16-exact activations as f16 (8 rows: 40 KB, stay in L1; 8 × 128256 × 2560
  // ~14.5 ms instead of ~17.8). On Zen 4 (the kL2 profile, 32 KB L1) the extra conversions cost more
  // than they save: 4 rows 15.5 → 14.3 ms, 8 rows 28.8–31.3 → 27.3–27.6 with f32, 16 rows the same.
  a.x_f16 = stream_prefetch() == StreamPrefetch::kNta;
  const FloatMatmulFn fn = t.types[type.id].matmul_f32;
  plan_read_ahead_rows(w, N, a.row_bytes, M);
  split_rows(N, (int64_t)a.row_bytes * M, [&](int64_t n0, int64_t n1) { fn(a, n0, n1); });
}

void get_rows(const TensorType& type, const uint8_t* w, int64_t N, int64_t K, const int32_t* ids, int64_t count, float* out) {
  const DequantRowFn dequant = table().types[type.id].dequant_row;
  const size_t rb = row_bytes(type, K);
  // A tensor trailer starts with the tensor's f32 scale (I2_S); other types have none.
  const float scale = type.trailer_bytes >= 4 ? load_f32(w + (size_t)N * rb) : 0.0f;
  for (int64_t i = 0; i < count; ++i) dequant(w + (size_t)ids[i] * rb, out + i * K, K, scale);
}

void rms_norm(const float* x, int64_t rows, int64_t cols, const float* w, float eps, float* out) {
  const KernelTable& t = table();
  // Groups of 4 rows (one kernel call each, the 4 sums side by side), then single rows.
  const int64_t groups = rows / 4;
  for_rows(groups, cols * 4, [&](int64_t g) { t.rms_norm_rows4(x + g * 4 * cols, cols, w, eps, out + g * 4 * cols); });
  for (int64_t r = groups * 4; r < rows; ++r) t.rms_norm_row(x + r * cols, cols, w, eps, out + r * cols);
}

void rope_neox(float* x, int64_t tokens, int64_t heads, int64_t headDim, int64_t ropeDim, const int32_t* positions, double freqBase) {
  const KernelTable& t = table();
  for (int64_t i = 0; i < tokens; ++i) t.rope_neox_token(x + i * heads * headDim, heads, headDim, ropeDim, positions[i], freqBase);
}

void softmax(float* x, int64_t rows, int64_t cols) {
  const KernelTable& t = table();
  for (int64_t r = 0; r < rows; ++r) t.softmax_row(x + r * cols, cols);
}

// Element-wise: split over the pool for a prefill chunk. A 256-token 2B4T prefill on Zen 4 (two runs
// each, alternating): relu_sqr_mul 18–29 → 10.5–18.5 ms in all, add 7–24 → 5–14 ms.
void relu_sqr_mul(const float* gate, const float* up, float* out, int64_t n) {
  const KernelTable& t = table();
  for_pieces(n, [&](int64_t i0, int64_t i1) { t.relu_sqr_mul(gate + i0, up + i0, out + i0, i1 - i0); });
}
void silu_mul(const float* gate, const float* up, float* out, int64_t n) {
  const KernelTable& t = table();
  for_pieces(n, [&](int64_t i0, int64_t i1) { t.silu_mul(gate + i0, up + i0, out + i0, i1 - i0); });
}
void add(const float* a, const float* b, float* out, int64_t n) {
  const KernelTable& t = table();
  for_pieces(n, [&](int64_t i0, int64_t i1) { t.add(a + i0, b + i0, out + i0, i1 - i0); });
}
void scale(const float* x, float s, float* out, int64_t n) {
  const KernelTable& t = table();
  for_pieces(n, [&](int64_t i0, int64_t i1) { t.scale(x + i0, s, out + i0, i1 - i0); });
}
void to_f16(const float* x, uint16_t* out, int64_t n) { table().to_f16(x, out, n); }

}  // namespace bitnet
