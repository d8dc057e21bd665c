// The choice of one KernelTable for the process: the best instruction set the CPU and OS can run, or
// the one BITNET_ISA names.
#include "dispatch.h"

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

#if defined(__x86_64__) || defined(__i386__)
#define BITNET_X86 1
#endif

namespace bitnet {

namespace {

const KernelTable* table_of(const std::string& isa) {
  if (isa == "generic") return kernel_table_generic();
#if BITNET_X86
  if (isa == "avx2") return kernel_table_avx2();
#if defined(BITNET_HAS_AVXVNNI)
  if (isa == "avxvnni") return kernel_table_avxvnni();
#endif
  if (isa == "avx512") return kernel_table_avx512();
  if (isa == "avx512vbmi") return kernel_table_avx512vbmi();
#endif
  return nullptr;
}

/** An environment variable's value in lower case ("" when unset). */
std::string lower(const char* env) {
  std::string s = env ? env : "";
  for (auto& ch : s) ch = (char)std::tolower((unsigned char)ch);
  return s;
}

std::atomic<const KernelTable*> g_table{nullptr};
std::once_flag g_once;

}  // namespace

std::vector<std::string> compiled_isas() {
#if BITNET_X86 && defined(BITNET_HAS_AVXVNNI)
  return {"generic", "avx2", "avxvnni", "avx512", "avx512vbmi"};
#elif BITNET_X86
  return {"generic", "avx2", "avx512", "avx512vbmi"};  // a compiler without -mavxvnni
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
#if defined(BITNET_AVX512_EMULATED)
  // Test-only build: the AVX-512 and AVX-VNNI intrinsics are emulated by SIMDe on AVX2.
  if (isa == "avx512" || isa == "avx512vbmi" || isa == "avxvnni") return missing.empty() ? "" : "the CPU or OS lacks " + missing;
#endif
  if (isa == "avxvnni") need(f.avxvnni, "avxvnni");
  if (isa == "avx512" || isa == "avx512vbmi") {
    need(f.avx512f, "avx512f");
    need(f.avx512bw, "avx512bw");
    need(f.avx512vl, "avx512vl");
    need(f.avx512dq, "avx512dq");
    need(f.avx512vnni, "avx512vnni");
    need(f.avx512bf16, "avx512bf16");
    need(f.os_zmm, "OS support of ZMM/opmask state (XCR0)");
  }
  if (isa == "avx512vbmi") need(f.avx512vbmi, "avx512vbmi");
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
    const std::string want = lower(env);
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

StreamPrefetch stream_prefetch() {
  static const StreamPrefetch p = [] {
    const char* env = std::getenv("BITNET_PREFETCH");
    const std::string want = lower(env);
    if (want == "nta") return StreamPrefetch::kNta;
    if (want == "l2") return StreamPrefetch::kL2;
    if (!want.empty() && want != "auto")
      throw std::runtime_error("BITNET_PREFETCH=" + std::string(env) + " is not one of nta, l2, auto");
    const CpuFeatures& f = cpu_features();
    return f.vendor == "AuthenticAMD" && f.family == 0x19 ? StreamPrefetch::kL2 : StreamPrefetch::kNta;
  }();
  return p;
}

const char* stream_prefetch_name(StreamPrefetch p) { return p == StreamPrefetch::kL2 ? "l2" : "nta"; }

const KernelTable& table() { return *g_table.load(std::memory_order_acquire); }

void set_isa(const std::string& isa) {
  const std::string why = isa_unavailable_reason(isa);
  if (!why.empty()) throw std::runtime_error("instruction set '" + isa + "' cannot be used: " + why);
  g_table.store(table_of(isa), std::memory_order_release);
}

}  // namespace bitnet
