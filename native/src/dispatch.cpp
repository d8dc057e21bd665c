#include "dispatch.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define BITNET_X86 1
#endif

#include "common.h"
#include "threadpool.h"

namespace bitnet {

// ---- CPU features ----------------------------------------------------------------------------

namespace {

#if BITNET_X86
uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#if BITNET_X86
  unsigned a, b, c, d;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return f;
  const unsigned max_leaf = a;
  char vendor[13];
  std::memcpy(vendor, &b, 4);
  std::memcpy(vendor + 4, &d, 4);
  std::memcpy(vendor + 8, &c, 4);
  vendor[12] = 0;
  f.vendor = vendor;
  __cpuid_count(1, 0, a, b, c, d);
  f.sse2 = (d >> 26) & 1;
  f.fma = (c >> 12) & 1;
  f.osxsave = (c >> 27) & 1;
  f.avx = (c >> 28) & 1;
  f.f16c = (c >> 29) & 1;
  if (f.osxsave) {
    const uint64_t xcr0 = xgetbv0();
    f.os_ymm = (xcr0 & 0x6) == 0x6;     // SSE + AVX state
    f.os_zmm = (xcr0 & 0xe6) == 0xe6;   // + opmask, ZMM_Hi256, Hi16_ZMM
  }
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    const unsigned max_sub = a;
    f.avx2 = (b >> 5) & 1;
    f.avx512f = (b >> 16) & 1;
    f.avx512dq = (b >> 17) & 1;
    f.avx512bw = (b >> 30) & 1;
    f.avx512vl = (b >> 31) & 1;
    f.avx512vnni = (c >> 11) & 1;
    if (max_sub >= 1) {
      __cpuid_count(7, 1, a, b, c, d);
      f.avx512bf16 = (a >> 5) & 1;
    }
  }
#endif
  return f;
}

const KernelTable* table_of(const std::string& isa) {
  if (isa == "generic") return kernel_table_generic();
#if BITNET_X86
  if (isa == "avx2") return kernel_table_avx2();
  if (isa == "avx512") return kernel_table_avx512();
#endif
  return nullptr;
}

std::atomic<const KernelTable*> g_table{nullptr};
std::once_flag g_once;

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

std::vector<std::string> compiled_isas() {
#if BITNET_X86
  return {"generic", "avx2", "avx512"};
#else
  return {"generic"};
#endif
}

std::string isa_unavailable_reason(const std::string& isa) {
  const CpuFeatures& f = cpu_features();
  if (isa == "generic") return "";
  bool known = false;
  for (const auto& s : compiled_isas()) known = known || s == isa;
  if (!known) return "unknown instruction set (this build has: " + [] {
      std::string s;
      for (const auto& i : compiled_isas()) s += (s.empty() ? "" : ", ") + i;
      return s;
    }() + ")";
  std::string missing;
  auto need = [&](bool ok, const char* name) {
    if (!ok) missing += (missing.empty() ? "" : ", ") + std::string(name);
  };
  need(f.avx, "avx");
  need(f.avx2, "avx2");
  need(f.fma, "fma");
  need(f.f16c, "f16c");
  need(f.os_ymm, "OS support of YMM state (XCR0)");
  if (isa == "avx512") {
#if defined(BITNET_AVX512_EMULATED)
    // Test-only build: the AVX-512 intrinsics are emulated by SIMDe on AVX2.
    return missing.empty() ? "" : "the CPU or OS lacks " + missing;
#endif
    need(f.avx512f, "avx512f");
    need(f.avx512bw, "avx512bw");
    need(f.avx512vl, "avx512vl");
    need(f.avx512dq, "avx512dq");
    need(f.avx512vnni, "avx512vnni");
    need(f.avx512bf16, "avx512bf16");
    need(f.os_zmm, "OS support of ZMM/opmask state (XCR0)");
  }
  return missing.empty() ? "" : "the CPU or OS lacks " + missing;
}

std::vector<std::string> available_isas() {
  std::vector<std::string> out;
  for (const auto& isa : compiled_isas())
    if (isa_unavailable_reason(isa).empty()) out.push_back(isa);
  return out;
}

static std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& i : v) s += (s.empty() ? "" : ", ") + i;
  return s;
}

void init_dispatch() {
  std::call_once(g_once, [] {
    const char* env = std::getenv("BITNET_ISA");
    std::string want = env ? env : "";
    for (auto& ch : want) ch = (char)std::tolower((unsigned char)ch);
    if (want.empty() || want == "auto") {
      g_table.store(table_of(available_isas().back()));
      return;
    }
    const std::string why = isa_unavailable_reason(want);
    if (!why.empty()) {
      throw std::runtime_error("BITNET_ISA=" + std::string(env) + " cannot be used: " + why +
                               " (available here: " + join(available_isas()) + ")");
    }
    g_table.store(table_of(want));
  });
  if (!g_table.load()) throw std::runtime_error("kernel dispatch failed to initialize (an earlier BITNET_ISA error)");
}

const KernelTable& table() { return *g_table.load(std::memory_order_acquire); }

void set_isa(const std::string& isa) {
  const std::string why = isa_unavailable_reason(isa);
  if (!why.empty()) throw std::runtime_error("instruction set '" + isa + "' cannot be used: " + why);
  g_table.store(table_of(isa), std::memory_order_release);
}

// ---- geometry --------------------------------------------------------------------------------

int64_t block_size(int kind) {
  switch (kind) {
    case W_F32: case W_F16: case W_BF16: return 1;
    case W_Q8_0: return QK8_0;
    case W_I2_S: return QK_I2S;
    default: return QK_K;
  }
}

size_t row_bytes(int kind, int64_t K) {
  const size_t blocks = (size_t)(K / block_size(kind));
  switch (kind) {
    case W_F32: return (size_t)K * 4;
    case W_F16: case W_BF16: return (size_t)K * 2;
    case W_Q8_0: return blocks * Q8_0_BYTES;
    case W_Q4_K: return blocks * Q4_K_BYTES;
    case W_Q6_K: return blocks * Q6_K_BYTES;
    case W_TQ1_0: return blocks * TQ1_0_BYTES;
    case W_TQ2_0: return blocks * TQ2_0_BYTES;
    case W_I2_S: return (size_t)K / 4;
  }
  return 0;
}

// ---- drivers ---------------------------------------------------------------------------------

namespace {

/** Splits [0, N) into chunks (multiples of 16 rows) and runs fn(n0, n1) on the pool. */
template <class F>
void split_rows(int64_t N, int64_t bytes_per_row_all_m, F&& fn) {
  ThreadPool& pool = ThreadPool::instance();
  const int threads = pool.size();
  // Small jobs run inline: waking another core costs more than it saves below ~64 KiB.
  if (threads == 1 || N <= 16 || N * bytes_per_row_all_m < (64 << 10)) {
    fn((int64_t)0, N);
    return;
  }
  int64_t chunk = (N + threads * 4 - 1) / (threads * 4);
  chunk = (chunk + 15) / 16 * 16;
  const int64_t tasks = (N + chunk - 1) / chunk;
  pool.parallel_for(tasks, [&](int64_t t) {
    const int64_t n0 = t * chunk;
    fn(n0, std::min(N, n0 + chunk));
  });
}

}  // namespace

/** Runs fn(r) for every row, on the pool when the rows are many and long enough to pay for it. */
template <class F>
static void for_rows(int64_t rows, int64_t cols, F&& fn) {
  ThreadPool& pool = ThreadPool::instance();
  if (rows < 2 || pool.size() == 1 || rows * cols < (1 << 16)) {
    for (int64_t r = 0; r < rows; ++r) fn(r);
    return;
  }
  const int64_t tasks = std::min<int64_t>(rows, pool.size() * 4);
  const int64_t per = (rows + tasks - 1) / tasks;
  pool.parallel_for(tasks, [&](int64_t t) {
    for (int64_t r = t * per; r < std::min(rows, (t + 1) * per); ++r) fn(r);
  });
}

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

void matmul_i2s_i8(const uint8_t* w, int64_t N, int64_t K, const int8_t* q, const float* scales, const int32_t* sums,
                   int64_t M, float* out) {
  const KernelTable& t = table();
  TernaryMatmulArgs a{};
  a.w = w;
  a.row_bytes = (size_t)K / 4;
  a.K = K;
  a.N = N;
  a.M = M;
  a.q = q;
  a.scale = scales;
  a.sum = sums;
  a.wscale = load_f32(w + (size_t)N * (size_t)K / 4);
  a.out = out;
  if (M == 0 || N == 0) return;
  split_rows(N, (int64_t)a.row_bytes * M, [&](int64_t n0, int64_t n1) { t.matmul_i2s_i8(a, n0, n1); });
}

void matmul_tq_q8k(int kind, const uint8_t* w, int64_t N, int64_t K, const int8_t* q, const float* d, int64_t M, float* out) {
  const KernelTable& t = table();
  if (M == 0 || N == 0) return;
  // Exact Σq of every 32-value group (8 per 256-block: what ggml's lane k of a block subtracts, its
  // bsums[2k] + bsums[2k+1]), from the int8 values themselves (bsums are not trusted).
  const int64_t ng = M * K / 32;
  std::vector<int32_t> gsum((size_t)ng);
  for (int64_t i = 0; i < ng; ++i) {
    int32_t s = 0;
    const int8_t* p = q + i * 32;
    for (int j = 0; j < 32; ++j) s += p[j];
    gsum[(size_t)i] = s;
  }
  TernaryMatmulArgs a{};
  a.w = w;
  a.row_bytes = row_bytes(kind, K);
  a.K = K;
  a.N = N;
  a.M = M;
  a.q = q;
  a.scale = d;
  a.sum = gsum.data();
  a.out = out;
  const TernaryMatmulFn fn = kind == W_TQ1_0 ? t.matmul_tq1_0_q8k : t.matmul_tq2_0_q8k;
  split_rows(N, (int64_t)a.row_bytes * M, [&](int64_t n0, int64_t n1) { fn(a, n0, n1); });
}

void quantize_q8_0(const float* x, int64_t rows, int64_t cols, int8_t* q, float* d) {
  const KernelTable& t = table();
  for_rows(rows, cols, [&](int64_t r) { t.quantize_q8_0_row(x + r * cols, cols, q + r * cols, d + r * (cols / QK8_0)); });
}

void matmul_q8_0_q8_0(const uint8_t* w, int64_t N, int64_t K, const int8_t* q, const float* d, int64_t M, float* out) {
  const KernelTable& t = table();
  if (M == 0 || N == 0) return;
  Q8_0MatmulArgs a{};
  a.w = w;
  a.row_bytes = row_bytes(W_Q8_0, K);
  a.K = K;
  a.N = N;
  a.M = M;
  a.q = q;
  a.d = d;
  a.out = out;
  split_rows(N, (int64_t)a.row_bytes * M, [&](int64_t n0, int64_t n1) { t.matmul_q8_0_q8_0(a, n0, n1); });
}

void matmul_float(int kind, const uint8_t* w, int64_t N, int64_t K, const float* x, int64_t M, float* out) {
  const KernelTable& t = table();
  if (M == 0 || N == 0) return;
  FloatMatmulArgs a{};
  a.w = w;
  a.row_bytes = row_bytes(kind, K);
  a.K = K;
  a.N = N;
  a.M = M;
  a.x = x;
  a.out = out;
  const FloatMatmulFn fn = t.matmul_float[kind];
  split_rows(N, (int64_t)a.row_bytes * M, [&](int64_t n0, int64_t n1) { fn(a, n0, n1); });
}

void get_rows(int kind, const uint8_t* w, int64_t N, int64_t K, const int32_t* ids, int64_t count, float* out) {
  const KernelTable& t = table();
  const size_t rb = row_bytes(kind, K);
  const float scale = kind == W_I2_S ? load_f32(w + (size_t)N * rb) : 0.0f;
  for (int64_t i = 0; i < count; ++i) t.dequant_row[kind](w + (size_t)ids[i] * rb, out + i * K, K, scale);
}

void rms_norm(const float* x, int64_t rows, int64_t cols, const float* w, float eps, float* out) {
  const KernelTable& t = table();
  for_rows(rows, cols, [&](int64_t r) { t.rms_norm_row(x + r * cols, cols, w, eps, out + r * cols); });
}

void rope_neox(float* x, int64_t tokens, int64_t heads, int64_t headDim, int64_t ropeDim, const int32_t* positions, double freqBase) {
  const KernelTable& t = table();
  for (int64_t i = 0; i < tokens; ++i) t.rope_neox_token(x + i * heads * headDim, heads, headDim, ropeDim, positions[i], freqBase);
}

void softmax(float* x, int64_t rows, int64_t cols) {
  const KernelTable& t = table();
  for (int64_t r = 0; r < rows; ++r) t.softmax_row(x + r * cols, cols);
}

/** The calling thread's attention scratch, grown as needed and kept: a decode step calls attention
 *  once per layer, and a fresh allocation of this size would fault its pages in every time. */
static float* attention_scratch(size_t floats) {
  struct Buffer {
    float* p = nullptr;
    size_t cap = 0;
    ~Buffer() { std::free(p); }
  };
  thread_local Buffer buf;
  if (buf.cap < floats) {
    float* p = static_cast<float*>(std::aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64));
    if (!p) throw std::runtime_error("attention: cannot allocate " + std::to_string(floats * sizeof(float)) + " bytes of scratch");
    std::free(buf.p);
    buf.p = p;
    buf.cap = floats;
  }
  return buf.p;
}

void attention(const AttentionArgs& a) {
  const KernelTable& t = table();
  if (a.tokens == 0 || a.heads == 0) return;
  // Tasks: (kv head, block of up to 16 tokens); each converts its keys and values once for all of
  // its rows. Small (short-context decode) calls stay on the calling thread.
  const int64_t TB = 16;
  const int64_t blocks = (a.tokens + TB - 1) / TB;
  const int64_t tasks = a.kvHeads * blocks;
  const int64_t maxVisible = a.startPos + a.tokens;
  const bool inline_run = a.tokens * a.heads * maxVisible * a.headDim < (1 << 16);
  const int threads = inline_run ? 1 : (int)std::min<int64_t>(ThreadPool::instance().size(), tasks);
  const size_t per_slot = ((size_t)attention_scratch_floats(a, a.tokens) + 7) / 8 * 8;
  float* scratch = attention_scratch(per_slot * (size_t)threads);
  auto run_task = [&](int64_t i, float* s) {
    const int64_t kvh = i % a.kvHeads, b = i / a.kvHeads;
    t.attention_group(a, b * TB, std::min(a.tokens, (b + 1) * TB), kvh, s);
  };
  if (threads == 1) {
    for (int64_t i = 0; i < tasks; ++i) run_task(i, scratch);
    return;
  }
  // One scratch slot per thread; the threads claim tasks one at a time.
  std::atomic<int64_t> next{0};
  std::atomic<int> slot_ids{0};
  ThreadPool::instance().parallel_for(threads, [&](int64_t) {
    float* s = scratch + (size_t)slot_ids.fetch_add(1) * per_slot;
    for (int64_t i; (i = next.fetch_add(1)) < tasks;) run_task(i, s);
  });
}

void relu_sqr_mul(const float* gate, const float* up, float* out, int64_t n) { table().relu_sqr_mul(gate, up, out, n); }
void silu_mul(const float* gate, const float* up, float* out, int64_t n) { table().silu_mul(gate, up, out, n); }
void add(const float* a, const float* b, float* out, int64_t n) { table().add(a, b, out, n); }
void scale(const float* x, float s, float* out, int64_t n) { table().scale(x, s, out, n); }
void to_f16(const float* x, uint16_t* out, int64_t n) { table().to_f16(x, out, n); }

// ---- TQ1_0 → TQ2_0 ------------------------------------------------------------------------------

namespace {

/**
 * Byte tables for the repack. TQ2_0 byte (c, j) holds elements 128c + 32n + j in bits 2n. In TQ1_0,
 * element 32n + m (n < 5) is trit n of qs[m], element 160 + 16n + m is trit n of qs[32 + m], and
 * element 240 + 4n + j is trit n of qh[j]. So byte (0, j) is trits 0..3 of qs[j]; byte (1, j) is trit
 * 4 of qs[j], then for j < 16 trits 0, 2, 4 of qs[32 + j], for j ≥ 16 trits 1, 3 of qs[16 + j] and
 * trit (j − 16) / 4 of qh[j mod 4]. Codes are the stored 0..2 (weight + 1) in both types.
 */
struct RepackTables {
  uint8_t t[256][5];   // trit n of byte b
  uint8_t p0123[256];  // trits 0..3 in bits 0..7
  uint8_t p024[256];   // trits 0, 2, 4 in bits 0..5
  uint8_t p13[256];    // trits 1, 3 in bits 0..3
  RepackTables() {
    for (int b = 0; b < 256; ++b) {
      for (int n = 0; n < 5; ++n) t[b][n] = (uint8_t)tq1_trit((uint8_t)b, n);
      p0123[b] = (uint8_t)(t[b][0] | t[b][1] << 2 | t[b][2] << 4 | t[b][3] << 6);
      p024[b] = (uint8_t)(t[b][0] | t[b][2] << 2 | t[b][4] << 4);
      p13[b] = (uint8_t)(t[b][1] | t[b][3] << 2);
    }
  }
};

void repack_block(const RepackTables& T, const uint8_t* s, uint8_t* d) {
  const uint8_t* qh = s + 48;
  for (int j = 0; j < 32; ++j) d[j] = T.p0123[s[j]];
  for (int j = 0; j < 16; ++j) d[32 + j] = (uint8_t)(T.t[s[j]][4] | T.p024[s[32 + j]] << 2);
  for (int j = 16; j < 32; ++j)
    d[32 + j] = (uint8_t)(T.t[s[j]][4] | T.p13[s[16 + j]] << 2 | T.t[qh[j & 3]][(j - 16) >> 2] << 6);
  d[64] = s[52];
  d[65] = s[53];
}

}  // namespace

/** Runs fn(b) for every block of a load-time conversion, 16384 blocks per pool task. */
template <class F>
static void for_blocks(int64_t blocks, F&& fn) {
  const int64_t per_task = 1 << 14;
  const int64_t tasks = (blocks + per_task - 1) / per_task;
  auto run = [&](int64_t t) {
    const int64_t b1 = std::min(blocks, (t + 1) * per_task);
    for (int64_t b = t * per_task; b < b1; ++b) fn(b);
  };
  if (tasks <= 1) {
    for (int64_t t = 0; t < tasks; ++t) run(t);
    return;
  }
  ThreadPool::instance().parallel_for(tasks, [&](int64_t t) { run(t); });
}

void repack_tq1_0_as_tq2_0(const uint8_t* src, int64_t blocks, uint8_t* dst) {
  static const RepackTables tables;
  for_blocks(blocks, [&](int64_t b) { repack_block(tables, src + b * TQ1_0_BYTES, dst + b * TQ2_0_BYTES); });
}

void encode_q8_0(const float* x, int64_t blocks, uint8_t* out) {
  for_blocks(blocks, [&](int64_t b) {
    const float* v = x + b * 32;
    uint8_t* o = out + b * 34;
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(v[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const uint16_t h = f32_to_f16(d);
    o[0] = (uint8_t)(h & 0xff);
    o[1] = (uint8_t)(h >> 8);
    for (int j = 0; j < 32; ++j) o[2 + j] = (uint8_t)(int8_t)std::round(v[j] * id);
  });
}

double read_bandwidth(size_t bytes, int passes) {
  const KernelTable& t = table();
  ThreadPool& pool = ThreadPool::instance();
  const int threads = pool.size();
  bytes = bytes / (64 * (size_t)threads) * (64 * (size_t)threads);
  uint8_t* buf = static_cast<uint8_t*>(std::aligned_alloc(4096, (bytes + 4095) / 4096 * 4096));
  if (!buf) throw std::runtime_error("cannot allocate the bandwidth probe buffer");
  const size_t per = bytes / (size_t)threads;
  // Each thread touches (faults in) its own slice, then reads it.
  pool.parallel_for(threads, [&](int64_t i) {
    for (size_t j = 0; j < per; j += 64) std::memset(buf + (size_t)i * per + j, (int)(j >> 6), 64);
  });
  std::atomic<uint64_t> sink{0};
  pool.parallel_for(threads, [&](int64_t i) { sink ^= t.stream_read(buf + (size_t)i * per, per); });  // warm-up
  double best = 0;
  for (int p = 0; p < passes; ++p) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(threads, [&](int64_t i) { sink ^= t.stream_read(buf + (size_t)i * per, per); });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, (double)bytes / s);
  }
  std::free(buf);
  static volatile uint64_t keep;
  keep = sink.load();  // keep the reads alive
  return best;
}

}  // namespace bitnet
