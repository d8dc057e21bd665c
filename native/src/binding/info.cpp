// What the addon reports about the machine and its dispatch, and the test hooks: CPU features, the
// instruction sets, the thread count, switching the table, the bandwidth probe.
#include <napi.h>

#include <string>
#include <vector>

#if !defined(_WIN32)
#include <sys/mman.h>
#endif

#include "../dispatch/bandwidth.h"
#include "../dispatch/dispatch.h"
#include "../threads/read_ahead.h"
#include "../threads/thread_pool.h"
#include "args.h"
#include "binding.h"

namespace bitnet {
namespace binding {

namespace {

Napi::Value CpuFeaturesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CpuFeatures& f = cpu_features();
  Napi::Object o = Napi::Object::New(env);
  o.Set("vendor", f.vendor);
  o.Set("family", f.family);
  o.Set("model", f.model);
  o.Set("sse2", f.sse2);
  o.Set("avx", f.avx);
  o.Set("avx2", f.avx2);
  o.Set("fma", f.fma);
  o.Set("f16c", f.f16c);
  o.Set("avx512f", f.avx512f);
  o.Set("avx512bw", f.avx512bw);
  o.Set("avx512vl", f.avx512vl);
  o.Set("avx512dq", f.avx512dq);
  o.Set("avxvnni", f.avxvnni);
  o.Set("avx512vnni", f.avx512vnni);
  o.Set("avx512bf16", f.avx512bf16);
  o.Set("avx512vbmi", f.avx512vbmi);
  o.Set("osxsave", f.osxsave);
  o.Set("osYmm", f.os_ymm);
  o.Set("osZmm", f.os_zmm);
  return o;
}

Napi::Array StringArray(Napi::Env env, const std::vector<std::string>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set((uint32_t)i, v[i]);
  return a;
}

Napi::Value SelectedIsa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), table().isa); }
Napi::Value StreamPrefetchJs(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), stream_prefetch_name(stream_prefetch())); }
Napi::Value AvailableIsas(const Napi::CallbackInfo& info) { return StringArray(info.Env(), available_isas()); }
Napi::Value CompiledIsas(const Napi::CallbackInfo& info) { return StringArray(info.Env(), compiled_isas()); }
Napi::Value Threads(const Napi::CallbackInfo& info) {
  return guarded(info, "threads", [&]() -> Napi::Value { return Napi::Number::New(info.Env(), ThreadPool::instance().size()); });
}

// setThreads(n): gives the process-wide pool n threads (the caller included); returns the previous size.
Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const char* fn = "setThreads";
  return guarded(info, fn, [&]() -> Napi::Value {
    need_args(info, 1, fn);
    const int64_t n = integer(info, 0, fn, "n", 1, 256);
    return Napi::Number::New(info.Env(), ThreadPool::set_threads((int)n));
  });
}

// setIsaForTests(name): switches the kernels of the whole process; returns the previous ISA.
Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  const char* fn = "setIsaForTests";
  return guarded(info, fn, [&]() -> Napi::Value {
    need_args(info, 1, fn);
    if (!info[0].IsString()) type_error(std::string(fn) + ": name must be a string");
    const std::string prev = table().isa;
    set_isa(info[0].As<Napi::String>().Utf8Value());
    return Napi::String::New(info.Env(), prev);
  });
}

// readAheadForTests([kb]): the read-ahead plan's counters (see threads/read_ahead.h); with kb, first
// sets its budget and starts it over (counters at 0, nothing learned).
Napi::Value ReadAheadForTests(const Napi::CallbackInfo& info) {
  const char* fn = "readAheadForTests";
  return guarded(info, fn, [&]() -> Napi::Value {
    ReadAheadPlan& plan = ReadAheadPlan::instance();
    if (info.Length() >= 1 && !info[0].IsUndefined()) plan.reset((size_t)integer(info, 0, fn, "kb", 0, 1 << 20) << 10);
    const ReadAheadPlan::Stats s = plan.stats();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("budgetKb", Napi::Number::New(info.Env(), (double)(plan.budget() >> 10)));
    o.Set("matmuls", Napi::Number::New(info.Env(), (double)s.matmuls));
    o.Set("attentions", Napi::Number::New(info.Env(), (double)s.reads));
    o.Set("predicted", Napi::Number::New(info.Env(), (double)s.predicted));
    o.Set("hits", Napi::Number::New(info.Env(), (double)s.hits));
    o.Set("workerReadAheads", Napi::Number::New(info.Env(), (double)ThreadPool::instance().read_aheads()));
    o.Set("workerAttentionReadAheads", Napi::Number::New(info.Env(), (double)ThreadPool::instance().run_read_aheads()));
    return o;
  });
}

// readBandwidth(bytes, passes[, file]): GB/s of streaming reads with all pool threads (best of
// passes), of a fresh buffer of `bytes`, or of the first `bytes` of `file` when given (mapped for the
// call and unmapped after it: its pages stay in the page cache, nothing is allocated or freed).
Napi::Value ReadBandwidth(const Napi::CallbackInfo& info) {
  const char* fn = "readBandwidth";
  return guarded(info, fn, [&]() -> Napi::Value {
    need_args(info, 2, fn);
    const int64_t bytes = integer(info, 0, fn, "bytes", 1 << 20, int64_t{1} << 36);
    const int64_t passes = integer(info, 1, fn, "passes", 1, 1000);
    if (info.Length() < 3 || info[2].IsUndefined()) return Napi::Number::New(info.Env(), read_bandwidth((size_t)bytes, (int)passes) / 1e9);
    if (!info[2].IsString()) type_error(std::string(fn) + ": file must be a string");
    const std::string path = info[2].As<Napi::String>().Utf8Value();
#if defined(_WIN32)
    throw Napi::Error::New(info.Env(), std::string(fn) + ": a file source is not supported on Windows");
#else
    const FileMapping m = map_file(info.Env(), fn, path, (size_t)bytes, [&](bool regular, int64_t size) {
      if (!regular || size < bytes) range_error(std::string(fn) + ": '" + path + "' is not a regular file of at least " + std::to_string(bytes) + " bytes");
    });
    struct Unmap {
      FileMapping m;
      ~Unmap() { ::munmap(m.p, m.bytes); }
    } unmap{m};
    return Napi::Number::New(info.Env(), read_bandwidth_of(static_cast<const uint8_t*>(m.p), m.bytes, (int)passes) / 1e9);
#endif
  });
}

// int8Peak(rounds, passes): the selected table's int8 ceiling loop, `rounds` rounds on every pool thread
// at once, best of `passes`: { multiplyAddsPerSecond, multiplyAdds, checksum } (checksum: 2 per
// multiply-add when the loop ran as counted).
Napi::Value Int8PeakJs(const Napi::CallbackInfo& info) {
  const char* fn = "int8Peak";
  return guarded(info, fn, [&]() -> Napi::Value {
    need_args(info, 2, fn);
    // up to 2^26 rounds: every accumulator lane stays below 2^31 (8 a round)
    const int64_t rounds = integer(info, 0, fn, "rounds", 1, int64_t{1} << 26);
    const int64_t passes = integer(info, 1, fn, "passes", 1, 1000);
    const Int8Peak r = int8_peak((uint64_t)rounds, (int)passes);
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("multiplyAddsPerSecond", Napi::Number::New(info.Env(), r.per_second));
    o.Set("multiplyAdds", Napi::Number::New(info.Env(), (double)r.multiply_adds));
    o.Set("checksum", Napi::Number::New(info.Env(), (double)r.checksum));
    return o;
  });
}

}  // namespace

void register_info(Napi::Env env, Napi::Object exports) {
  exports.Set("cpuFeatures", Napi::Function::New(env, CpuFeaturesJs));
  exports.Set("selectedIsa", Napi::Function::New(env, SelectedIsa));
  exports.Set("streamPrefetch", Napi::Function::New(env, StreamPrefetchJs));
  exports.Set("availableIsas", Napi::Function::New(env, AvailableIsas));
  exports.Set("compiledIsas", Napi::Function::New(env, CompiledIsas));
  exports.Set("threads", Napi::Function::New(env, Threads));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("setIsaForTests", Napi::Function::New(env, SetIsa));
  exports.Set("readBandwidth", Napi::Function::New(env, ReadBandwidth));
  exports.Set("int8Peak", Napi::Function::New(env, Int8PeakJs));
  exports.Set("readAheadForTests", Napi::Function::New(env, ReadAheadForTests));
#if defined(BITNET_AVX512_EMULATED)
  exports.Set("avx512Emulated", Napi::Boolean::New(env, true));  // test-only build (SIMDe)
#else
  exports.Set("avx512Emulated", Napi::Boolean::New(env, false));
#endif
}

}  // namespace binding
}  // namespace bitnet
