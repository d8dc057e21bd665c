// Node-API binding of the kernels (node-addon-api, Node-API 8).
//
// Every function checks what C++ needs for memory safety — argument types, integer ranges, block
// multiples and the byte length of every typed array against the shapes — and throws a JS
// TypeError / RangeError naming the function and argument otherwise. Full contract validation is
// the TypeScript side's job (CheckedKernels). Kernels run synchronously on the calling JS thread plus
// the native pool, whose threads never touch Node-API. C++ exceptions become JS Errors carrying
// their message.
#include <napi.h>

#include <cmath>
#include <exception>
#include <limits>
#include <stdexcept>
#include <string>

#include "dispatch.h"
#include "threadpool.h"

using namespace bitnet;

namespace {

// An argument error: becomes a JS TypeError or RangeError.
struct ArgError {
  bool range;
  std::string message;
};

[[noreturn]] void type_error(const std::string& m) { throw ArgError{false, m}; }
[[noreturn]] void range_error(const std::string& m) { throw ArgError{true, m}; }

template <class T>
struct View {
  T* data;
  size_t length;  // elements
};

const char* typed_array_name(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    default: return "typed array";
  }
}

template <class T>
View<T> typed(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type want, const char* fn, const char* name) {
  const Napi::Value v = info[i];
  if (!v.IsTypedArray()) type_error(std::string(fn) + ": " + name + " must be an " + typed_array_name(want));
  const Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != want) {
    type_error(std::string(fn) + ": " + name + " must be an " + typed_array_name(want) + ", got a " +
               typed_array_name(ta.TypedArrayType()));
  }
  const size_t len = ta.ElementLength();
  T* data = len == 0 ? nullptr : reinterpret_cast<T*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
  return View<T>{data, len};
}

int64_t integer(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, int64_t lo, int64_t hi) {
  const Napi::Value v = info[i];
  if (!v.IsNumber()) type_error(std::string(fn) + ": " + name + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d == std::floor(d)) || d < (double)lo || d > (double)hi) {
    range_error(std::string(fn) + ": " + name + " = " + std::to_string(d) + " is not an integer in [" + std::to_string(lo) +
                ", " + std::to_string(hi) + "]");
  }
  return (int64_t)d;
}

double number(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  const Napi::Value v = info[i];
  if (!v.IsNumber()) type_error(std::string(fn) + ": " + name + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

/** n = a·b·c... without overflow (every factor is already bounded to 2^31). */
int64_t mul(std::initializer_list<int64_t> f) {
  long double p = 1;
  int64_t r = 1;
  for (int64_t x : f) {
    p *= (long double)x;
    r *= x;
  }
  if (p > (long double)(int64_t{1} << 52)) range_error("shape too large");
  return r;
}

template <class T>
void need(const View<T>& v, int64_t elements, const char* fn, const char* name, const char* what) {
  if ((int64_t)v.length < elements) {
    range_error(std::string(fn) + ": " + name + " holds " + std::to_string(v.length) + " elements but " + what + " needs " +
                std::to_string(elements));
  }
}

constexpr int64_t kMaxDim = int64_t{1} << 31;
// Ternary kernels accumulate exact integers in int32 lanes; this bound keeps every partial sum
// (|code·4^k·q| summed over K) far from overflow.
constexpr int64_t kMaxTernaryK = int64_t{1} << 18;

int weight_kind(int64_t ggml_type, const char* fn, bool allow_ternary) {
  switch (ggml_type) {
    case 0: return W_F32;
    case 1: return W_F16;
    case 30: return W_BF16;
    case 8: return W_Q8_0;
    case 12: return W_Q4_K;
    case 14: return W_Q6_K;
    case 34: if (allow_ternary) return W_TQ1_0; break;
    case 35: if (allow_ternary) return W_TQ2_0; break;
    case 36: if (allow_ternary) return W_I2_S; break;
  }
  range_error(std::string(fn) + ": ggml type " + std::to_string(ggml_type) + " is not supported here");
}

/** Runs body, converting argument errors and C++ exceptions into JS exceptions. */
template <class F>
Napi::Value guarded(const Napi::CallbackInfo& info, const char* fn, F&& body) {
  Napi::Env env = info.Env();
  try {
    return body();
  } catch (const ArgError& e) {
    if (e.range) Napi::RangeError::New(env, e.message).ThrowAsJavaScriptException();
    else Napi::TypeError::New(env, e.message).ThrowAsJavaScriptException();
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
  } catch (const std::exception& e) {
    Napi::Error::New(env, std::string("bitnet_kernels.") + fn + ": native error: " + e.what()).ThrowAsJavaScriptException();
  } catch (...) {
    Napi::Error::New(env, std::string("bitnet_kernels.") + fn + ": unknown native error").ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

void need_args(const Napi::CallbackInfo& info, size_t n, const char* fn) {
  if (info.Length() < n) type_error(std::string(fn) + ": expected " + std::to_string(n) + " arguments, got " + std::to_string(info.Length()));
}

// ---- kernels ---------------------------------------------------------------------------------

// quantizeI8PerToken(x: Float32Array, rows, cols, qs: Int8Array, scales: Float32Array, sums: Int32Array)
Napi::Value QuantizeI8PerToken(const Napi::CallbackInfo& info) {
  const char* fn = "quantizeI8PerToken";
  return guarded(info, fn, [&] {
    need_args(info, 6, fn);
    auto x = typed<const float>(info, 0, napi_float32_array, fn, "x");
    const int64_t rows = integer(info, 1, fn, "rows", 0, kMaxDim), cols = integer(info, 2, fn, "cols", 0, kMaxDim);
    auto qs = typed<int8_t>(info, 3, napi_int8_array, fn, "qs");
    auto sc = typed<float>(info, 4, napi_float32_array, fn, "scales");
    auto su = typed<int32_t>(info, 5, napi_int32_array, fn, "sums");
    const int64_t n = mul({rows, cols});
    need(x, n, fn, "x", "rows × cols");
    need(qs, n, fn, "qs", "rows × cols");
    need(sc, rows, fn, "scales", "rows");
    need(su, rows, fn, "sums", "rows");
    quantize_i8_per_token(x.data, rows, cols, qs.data, sc.data, su.data);
    return info.Env().Undefined();
  });
}

// quantizeQ8K(x, rows, cols, qs: Int8Array, d: Float32Array, bsums: Int16Array)
Napi::Value QuantizeQ8K(const Napi::CallbackInfo& info) {
  const char* fn = "quantizeQ8K";
  return guarded(info, fn, [&] {
    need_args(info, 6, fn);
    auto x = typed<const float>(info, 0, napi_float32_array, fn, "x");
    const int64_t rows = integer(info, 1, fn, "rows", 0, kMaxDim), cols = integer(info, 2, fn, "cols", 0, kMaxDim);
    if (cols % 256) range_error(std::string(fn) + ": cols = " + std::to_string(cols) + " is not a multiple of 256");
    auto qs = typed<int8_t>(info, 3, napi_int8_array, fn, "qs");
    auto d = typed<float>(info, 4, napi_float32_array, fn, "d");
    auto bs = typed<int16_t>(info, 5, napi_int16_array, fn, "bsums");
    const int64_t n = mul({rows, cols});
    need(x, n, fn, "x", "rows × cols");
    need(qs, n, fn, "qs", "rows × cols");
    need(d, n / 256, fn, "d", "rows × cols/256");
    need(bs, n / 16, fn, "bsums", "rows × cols/16");
    quantize_q8k(x.data, rows, cols, qs.data, d.data, bs.data);
    return info.Env().Undefined();
  });
}

// quantizeQ8_0(x, rows, cols, qs: Int8Array, d: Float32Array)
Napi::Value QuantizeQ8_0(const Napi::CallbackInfo& info) {
  const char* fn = "quantizeQ8_0";
  return guarded(info, fn, [&] {
    need_args(info, 5, fn);
    auto x = typed<const float>(info, 0, napi_float32_array, fn, "x");
    const int64_t rows = integer(info, 1, fn, "rows", 0, kMaxDim), cols = integer(info, 2, fn, "cols", 0, kMaxDim);
    if (cols % 32) range_error(std::string(fn) + ": cols = " + std::to_string(cols) + " is not a multiple of 32");
    auto qs = typed<int8_t>(info, 3, napi_int8_array, fn, "qs");
    auto d = typed<float>(info, 4, napi_float32_array, fn, "d");
    const int64_t n = mul({rows, cols});
    need(x, n, fn, "x", "rows × cols");
    need(qs, n, fn, "qs", "rows × cols");
    need(d, n / 32, fn, "d", "rows × cols/32");
    quantize_q8_0(x.data, rows, cols, qs.data, d.data);
    return info.Env().Undefined();
  });
}

// matmulQ8_0Q8_0(w: Uint8Array, N, K, qs: Int8Array, d: Float32Array, M, out)
Napi::Value MatmulQ8_0Q8_0(const Napi::CallbackInfo& info) {
  const char* fn = "matmulQ8_0Q8_0";
  return guarded(info, fn, [&] {
    need_args(info, 7, fn);
    auto w = typed<const uint8_t>(info, 0, napi_uint8_array, fn, "w.data");
    const int64_t N = integer(info, 1, fn, "N (w.rows)", 0, kMaxDim);
    // Integer lanes are per 32-block (at most 4·128·127 in magnitude): no bound on K beyond kMaxDim.
    const int64_t K = integer(info, 2, fn, "K (w.cols)", 0, kMaxDim);
    if (K % 32) range_error(std::string(fn) + ": K = " + std::to_string(K) + " is not a multiple of 32");
    auto qs = typed<const int8_t>(info, 3, napi_int8_array, fn, "a.qs");
    auto d = typed<const float>(info, 4, napi_float32_array, fn, "a.d");
    const int64_t M = integer(info, 5, fn, "M (a.rows)", 0, kMaxDim);
    auto out = typed<float>(info, 6, napi_float32_array, fn, "out");
    need(w, mul({N, (int64_t)row_bytes(W_Q8_0, K)}), fn, "w.data", "N rows of K/32 blocks");
    need(qs, mul({M, K}), fn, "a.qs", "rows × K");
    need(d, mul({M, K / 32}), fn, "a.d", "rows × K/32");
    need(out, mul({M, N}), fn, "out", "rows × N");
    matmul_q8_0_q8_0(w.data, N, K, qs.data, d.data, M, out.data);
    return info.Env().Undefined();
  });
}

// matmulI2sI8(w: Uint8Array, N, K, qs: Int8Array, scales: Float32Array, sums: Int32Array, M, out: Float32Array)
Napi::Value MatmulI2sI8(const Napi::CallbackInfo& info) {
  const char* fn = "matmulI2sI8";
  return guarded(info, fn, [&] {
    need_args(info, 8, fn);
    auto w = typed<const uint8_t>(info, 0, napi_uint8_array, fn, "w.data");
    const int64_t N = integer(info, 1, fn, "N (w.rows)", 0, kMaxDim);
    const int64_t K = integer(info, 2, fn, "K (w.cols)", 0, kMaxTernaryK);
    if (K % 128) range_error(std::string(fn) + ": K = " + std::to_string(K) + " is not a multiple of 128");
    auto qs = typed<const int8_t>(info, 3, napi_int8_array, fn, "a.qs");
    auto sc = typed<const float>(info, 4, napi_float32_array, fn, "a.scales");
    auto su = typed<const int32_t>(info, 5, napi_int32_array, fn, "a.sums");
    const int64_t M = integer(info, 6, fn, "M (a.rows)", 0, kMaxDim);
    auto out = typed<float>(info, 7, napi_float32_array, fn, "out");
    need(w, mul({N, K}) / 4 + 4, fn, "w.data", "N·K/4 packed bytes + the f32 scale");
    need(qs, mul({M, K}), fn, "a.qs", "rows × K");
    need(sc, M, fn, "a.scales", "rows");
    need(su, M, fn, "a.sums", "rows");
    need(out, mul({M, N}), fn, "out", "rows × N");
    matmul_i2s_i8(w.data, N, K, qs.data, sc.data, su.data, M, out.data);
    return info.Env().Undefined();
  });
}

// matmulTq2_0Q8K / matmulTq1_0Q8K(w: Uint8Array, N, K, qs: Int8Array, d: Float32Array, M, out)
Napi::Value MatmulTq(const Napi::CallbackInfo& info, int kind, const char* fn) {
  return guarded(info, fn, [&] {
    need_args(info, 7, fn);
    auto w = typed<const uint8_t>(info, 0, napi_uint8_array, fn, "w.data");
    const int64_t N = integer(info, 1, fn, "N (w.rows)", 0, kMaxDim);
    const int64_t K = integer(info, 2, fn, "K (w.cols)", 0, kMaxTernaryK);
    if (K % 256) range_error(std::string(fn) + ": K = " + std::to_string(K) + " is not a multiple of 256");
    auto qs = typed<const int8_t>(info, 3, napi_int8_array, fn, "a.qs");
    auto d = typed<const float>(info, 4, napi_float32_array, fn, "a.d");
    const int64_t M = integer(info, 5, fn, "M (a.rows)", 0, kMaxDim);
    auto out = typed<float>(info, 6, napi_float32_array, fn, "out");
    need(w, mul({N, (int64_t)row_bytes(kind, K)}), fn, "w.data", "N rows of K/256 blocks");
    need(qs, mul({M, K}), fn, "a.qs", "rows × K");
    need(d, mul({M, K / 256}), fn, "a.d", "rows × K/256");
    need(out, mul({M, N}), fn, "out", "rows × N");
    matmul_tq_q8k(kind, w.data, N, K, qs.data, d.data, M, out.data);
    return info.Env().Undefined();
  });
}
Napi::Value MatmulTq2(const Napi::CallbackInfo& info) { return MatmulTq(info, W_TQ2_0, "matmulTq2_0Q8K"); }
Napi::Value MatmulTq1(const Napi::CallbackInfo& info) { return MatmulTq(info, W_TQ1_0, "matmulTq1_0Q8K"); }

// matmulFloat(type, w: Uint8Array, N, K, x: Float32Array, M, out)
Napi::Value MatmulFloat(const Napi::CallbackInfo& info) {
  const char* fn = "matmulFloat";
  return guarded(info, fn, [&] {
    need_args(info, 7, fn);
    const int kind = weight_kind(integer(info, 0, fn, "w.type", 0, 1000), fn, false);
    auto w = typed<const uint8_t>(info, 1, napi_uint8_array, fn, "w.data");
    const int64_t N = integer(info, 2, fn, "N (w.rows)", 0, kMaxDim);
    const int64_t K = integer(info, 3, fn, "K (w.cols)", 0, kMaxDim);
    if (K % block_size(kind)) range_error(std::string(fn) + ": K = " + std::to_string(K) + " is not a multiple of the block size " + std::to_string(block_size(kind)));
    auto x = typed<const float>(info, 4, napi_float32_array, fn, "x");
    const int64_t M = integer(info, 5, fn, "xRows", 0, kMaxDim);
    auto out = typed<float>(info, 6, napi_float32_array, fn, "out");
    need(w, mul({N, (int64_t)row_bytes(kind, K)}), fn, "w.data", "N rows of K values");
    need(x, mul({M, K}), fn, "x", "xRows × K");
    need(out, mul({M, N}), fn, "out", "xRows × N");
    matmul_float(kind, w.data, N, K, x.data, M, out.data);
    return info.Env().Undefined();
  });
}

// getRows(type, w: Uint8Array, N, K, ids: Int32Array, out: Float32Array)
Napi::Value GetRows(const Napi::CallbackInfo& info) {
  const char* fn = "getRows";
  return guarded(info, fn, [&] {
    need_args(info, 6, fn);
    const int kind = weight_kind(integer(info, 0, fn, "w.type", 0, 1000), fn, true);
    auto w = typed<const uint8_t>(info, 1, napi_uint8_array, fn, "w.data");
    const int64_t N = integer(info, 2, fn, "N (w.rows)", 0, kMaxDim);
    const int64_t K = integer(info, 3, fn, "K (w.cols)", 0, kMaxDim);
    if (K % block_size(kind)) range_error(std::string(fn) + ": K = " + std::to_string(K) + " is not a multiple of the block size " + std::to_string(block_size(kind)));
    auto ids = typed<const int32_t>(info, 4, napi_int32_array, fn, "ids");
    auto out = typed<float>(info, 5, napi_float32_array, fn, "out");
    need(w, mul({N, (int64_t)row_bytes(kind, K)}) + (kind == W_I2_S ? 4 : 0), fn, "w.data", "N rows of K values");
    need(out, mul({(int64_t)ids.length, K}), fn, "out", "ids.length × K");
    for (size_t i = 0; i < ids.length; ++i) {
      if (ids.data[i] < 0 || ids.data[i] >= N) {
        range_error(std::string(fn) + ": ids[" + std::to_string(i) + "] = " + std::to_string(ids.data[i]) + " is outside [0, " + std::to_string(N) + ")");
      }
    }
    get_rows(kind, w.data, N, K, ids.data, (int64_t)ids.length, out.data);
    return info.Env().Undefined();
  });
}

// rmsNorm(x, rows, cols, weight, eps, out)
Napi::Value RmsNorm(const Napi::CallbackInfo& info) {
  const char* fn = "rmsNorm";
  return guarded(info, fn, [&] {
    need_args(info, 6, fn);
    auto x = typed<const float>(info, 0, napi_float32_array, fn, "x");
    const int64_t rows = integer(info, 1, fn, "rows", 0, kMaxDim), cols = integer(info, 2, fn, "cols", 0, kMaxDim);
    auto w = typed<const float>(info, 3, napi_float32_array, fn, "weight");
    const double eps = number(info, 4, fn, "eps");
    auto out = typed<float>(info, 5, napi_float32_array, fn, "out");
    need(x, mul({rows, cols}), fn, "x", "rows × cols");
    need(w, cols, fn, "weight", "cols");
    need(out, mul({rows, cols}), fn, "out", "rows × cols");
    rms_norm(x.data, rows, cols, w.data, (float)eps, out.data);
    return info.Env().Undefined();
  });
}

// ropeNeox(x, tokens, heads, headDim, ropeDim, positions: Int32Array, freqBase)
Napi::Value RopeNeox(const Napi::CallbackInfo& info) {
  const char* fn = "ropeNeox";
  return guarded(info, fn, [&] {
    need_args(info, 7, fn);
    auto x = typed<float>(info, 0, napi_float32_array, fn, "x");
    const int64_t tokens = integer(info, 1, fn, "tokens", 0, kMaxDim);
    const int64_t heads = integer(info, 2, fn, "heads", 0, kMaxDim);
    const int64_t headDim = integer(info, 3, fn, "headDim", 0, kMaxDim);
    const int64_t ropeDim = integer(info, 4, fn, "ropeDim", 0, headDim);
    if (ropeDim % 2) range_error(std::string(fn) + ": ropeDim must be even");
    auto pos = typed<const int32_t>(info, 5, napi_int32_array, fn, "positions");
    const double base = number(info, 6, fn, "freqBase");
    need(x, mul({tokens, heads, headDim}), fn, "x", "tokens × heads × headDim");
    need(pos, tokens, fn, "positions", "tokens");
    rope_neox(x.data, tokens, heads, headDim, ropeDim, pos.data, base);
    return info.Env().Undefined();
  });
}

// softmax(x, rows, cols)
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  const char* fn = "softmax";
  return guarded(info, fn, [&] {
    need_args(info, 3, fn);
    auto x = typed<float>(info, 0, napi_float32_array, fn, "x");
    const int64_t rows = integer(info, 1, fn, "rows", 0, kMaxDim), cols = integer(info, 2, fn, "cols", 0, kMaxDim);
    need(x, mul({rows, cols}), fn, "x", "rows × cols");
    softmax(x.data, rows, cols);
    return info.Env().Undefined();
  });
}

// attention(q, kCache: Uint16Array, vCache: Uint16Array, tokens, heads, kvHeads, headDim, startPos, capacity, scale, out)
Napi::Value Attention(const Napi::CallbackInfo& info) {
  const char* fn = "attention";
  return guarded(info, fn, [&] {
    need_args(info, 11, fn);
    auto q = typed<const float>(info, 0, napi_float32_array, fn, "q");
    auto k = typed<const uint16_t>(info, 1, napi_uint16_array, fn, "kCache");
    auto v = typed<const uint16_t>(info, 2, napi_uint16_array, fn, "vCache");
    AttentionArgs a{};
    a.tokens = integer(info, 3, fn, "shape.tokens", 0, kMaxDim);
    a.heads = integer(info, 4, fn, "shape.heads", 0, kMaxDim);
    a.kvHeads = integer(info, 5, fn, "shape.kvHeads", 1, kMaxDim);
    a.headDim = integer(info, 6, fn, "shape.headDim", 0, kMaxDim);
    a.startPos = integer(info, 7, fn, "shape.startPos", 0, kMaxDim);
    a.capacity = integer(info, 8, fn, "shape.capacity", 0, kMaxDim);
    a.scale = (float)number(info, 9, fn, "shape.scale");
    auto out = typed<float>(info, 10, napi_float32_array, fn, "out");
    if (a.heads % a.kvHeads) range_error(std::string(fn) + ": heads is not a multiple of kvHeads");
    if (a.startPos + a.tokens > a.capacity) range_error(std::string(fn) + ": startPos + tokens exceeds the cache capacity");
    const int64_t cache = mul({a.startPos + a.tokens, a.kvHeads, a.headDim});
    need(q, mul({a.tokens, a.heads, a.headDim}), fn, "q", "tokens × heads × headDim");
    need(k, cache, fn, "kCache", "(startPos + tokens) × kvHeads × headDim");
    need(v, cache, fn, "vCache", "(startPos + tokens) × kvHeads × headDim");
    need(out, mul({a.tokens, a.heads, a.headDim}), fn, "out", "tokens × heads × headDim");
    a.q = q.data;
    a.k = k.data;
    a.v = v.data;
    a.out = out.data;
    attention(a);
    return info.Env().Undefined();
  });
}

using Elementwise = void (*)(const float*, const float*, float*, int64_t);
Napi::Value Binary(const Napi::CallbackInfo& info, Elementwise op, const char* fn, const char* an, const char* bn) {
  return guarded(info, fn, [&] {
    need_args(info, 3, fn);
    auto a = typed<const float>(info, 0, napi_float32_array, fn, an);
    auto b = typed<const float>(info, 1, napi_float32_array, fn, bn);
    auto out = typed<float>(info, 2, napi_float32_array, fn, "out");
    const int64_t n = (int64_t)out.length;
    need(a, n, fn, an, "out.length");
    need(b, n, fn, bn, "out.length");
    op(a.data, b.data, out.data, n);
    return info.Env().Undefined();
  });
}
Napi::Value ReluSqrMul(const Napi::CallbackInfo& info) { return Binary(info, relu_sqr_mul, "reluSqrMul", "gate", "up"); }
Napi::Value SiluMul(const Napi::CallbackInfo& info) { return Binary(info, silu_mul, "siluMul", "gate", "up"); }
Napi::Value Add(const Napi::CallbackInfo& info) { return Binary(info, add, "add", "a", "b"); }

Napi::Value Scale(const Napi::CallbackInfo& info) {
  const char* fn = "scale";
  return guarded(info, fn, [&] {
    need_args(info, 3, fn);
    auto x = typed<const float>(info, 0, napi_float32_array, fn, "x");
    const float s = (float)number(info, 1, fn, "s");
    auto out = typed<float>(info, 2, napi_float32_array, fn, "out");
    need(x, (int64_t)out.length, fn, "x", "out.length");
    scale(x.data, s, out.data, (int64_t)out.length);
    return info.Env().Undefined();
  });
}

Napi::Value RepackTq1_0AsTq2_0(const Napi::CallbackInfo& info) {
  const char* fn = "repackTq1_0AsTq2_0";
  return guarded(info, fn, [&] {
    need_args(info, 2, fn);
    auto src = typed<const uint8_t>(info, 0, napi_uint8_array, fn, "src");
    auto dst = typed<uint8_t>(info, 1, napi_uint8_array, fn, "dst");
    // 66 / 54: bytes of a TQ2_0 / TQ1_0 block of 256 values
    if (dst.length % 66) range_error(std::string(fn) + ": dst.length is not a whole number of TQ2_0 blocks");
    const int64_t blocks = (int64_t)(dst.length / 66);
    need(src, blocks * 54, fn, "src", "54 bytes per block of dst");
    repack_tq1_0_as_tq2_0(src.data, blocks, dst.data);
    return info.Env().Undefined();
  });
}

Napi::Value EncodeQ8_0(const Napi::CallbackInfo& info) {
  const char* fn = "encodeQ8_0";
  return guarded(info, fn, [&] {
    need_args(info, 2, fn);
    auto x = typed<const float>(info, 0, napi_float32_array, fn, "x");
    auto out = typed<uint8_t>(info, 1, napi_uint8_array, fn, "out");
    if (x.length % 32) range_error(std::string(fn) + ": x.length is not a multiple of 32");
    const int64_t blocks = (int64_t)(x.length / 32);
    need(out, blocks * 34, fn, "out", "34 bytes per 32 values");
    encode_q8_0(x.data, blocks, out.data);
    return info.Env().Undefined();
  });
}

Napi::Value ToF16(const Napi::CallbackInfo& info) {
  const char* fn = "toF16";
  return guarded(info, fn, [&] {
    need_args(info, 2, fn);
    auto x = typed<const float>(info, 0, napi_float32_array, fn, "x");
    auto out = typed<uint16_t>(info, 1, napi_uint16_array, fn, "out");
    need(x, (int64_t)out.length, fn, "x", "out.length");
    to_f16(x.data, out.data, (int64_t)out.length);
    return info.Env().Undefined();
  });
}

// ---- information and test hooks -----------------------------------------------------------------

Napi::Value CpuFeaturesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CpuFeatures& f = cpu_features();
  Napi::Object o = Napi::Object::New(env);
  o.Set("vendor", f.vendor);
  o.Set("sse2", f.sse2);
  o.Set("avx", f.avx);
  o.Set("avx2", f.avx2);
  o.Set("fma", f.fma);
  o.Set("f16c", f.f16c);
  o.Set("avx512f", f.avx512f);
  o.Set("avx512bw", f.avx512bw);
  o.Set("avx512vl", f.avx512vl);
  o.Set("avx512dq", f.avx512dq);
  o.Set("avx512vnni", f.avx512vnni);
  o.Set("avx512bf16", f.avx512bf16);
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
Napi::Value AvailableIsas(const Napi::CallbackInfo& info) { return StringArray(info.Env(), available_isas()); }
Napi::Value CompiledIsas(const Napi::CallbackInfo& info) { return StringArray(info.Env(), compiled_isas()); }
Napi::Value Threads(const Napi::CallbackInfo& info) {
  return guarded(info, "threads", [&]() -> Napi::Value { return Napi::Number::New(info.Env(), ThreadPool::instance().size()); });
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

// readBandwidth(bytes, passes): GB/s of streaming reads with all pool threads (best of passes).
Napi::Value ReadBandwidth(const Napi::CallbackInfo& info) {
  const char* fn = "readBandwidth";
  return guarded(info, fn, [&]() -> Napi::Value {
    need_args(info, 2, fn);
    const int64_t bytes = integer(info, 0, fn, "bytes", 1 << 20, int64_t{1} << 36);
    const int64_t passes = integer(info, 1, fn, "passes", 1, 1000);
    return Napi::Number::New(info.Env(), read_bandwidth((size_t)bytes, (int)passes) / 1e9);
  });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  try {
    init_dispatch();
    ThreadPool::instance();
  } catch (const std::exception& e) {
    Napi::Error::New(env, std::string("@bitnet/kernels native addon: ") + e.what()).ThrowAsJavaScriptException();
    return exports;
  }
  exports.Set("quantizeI8PerToken", Napi::Function::New(env, QuantizeI8PerToken));
  exports.Set("quantizeQ8K", Napi::Function::New(env, QuantizeQ8K));
  exports.Set("matmulI2sI8", Napi::Function::New(env, MatmulI2sI8));
  exports.Set("matmulTq2_0Q8K", Napi::Function::New(env, MatmulTq2));
  exports.Set("matmulTq1_0Q8K", Napi::Function::New(env, MatmulTq1));
  exports.Set("quantizeQ8_0", Napi::Function::New(env, QuantizeQ8_0));
  exports.Set("matmulQ8_0Q8_0", Napi::Function::New(env, MatmulQ8_0Q8_0));
  exports.Set("matmulFloat", Napi::Function::New(env, MatmulFloat));
  exports.Set("getRows", Napi::Function::New(env, GetRows));
  exports.Set("rmsNorm", Napi::Function::New(env, RmsNorm));
  exports.Set("ropeNeox", Napi::Function::New(env, RopeNeox));
  exports.Set("softmax", Napi::Function::New(env, Softmax));
  exports.Set("attention", Napi::Function::New(env, Attention));
  exports.Set("reluSqrMul", Napi::Function::New(env, ReluSqrMul));
  exports.Set("siluMul", Napi::Function::New(env, SiluMul));
  exports.Set("add", Napi::Function::New(env, Add));
  exports.Set("scale", Napi::Function::New(env, Scale));
  exports.Set("toF16", Napi::Function::New(env, ToF16));
  exports.Set("repackTq1_0AsTq2_0", Napi::Function::New(env, RepackTq1_0AsTq2_0));
  exports.Set("encodeQ8_0", Napi::Function::New(env, EncodeQ8_0));
  exports.Set("cpuFeatures", Napi::Function::New(env, CpuFeaturesJs));
  exports.Set("selectedIsa", Napi::Function::New(env, SelectedIsa));
  exports.Set("availableIsas", Napi::Function::New(env, AvailableIsas));
  exports.Set("compiledIsas", Napi::Function::New(env, CompiledIsas));
  exports.Set("threads", Napi::Function::New(env, Threads));
  exports.Set("setIsaForTests", Napi::Function::New(env, SetIsa));
  exports.Set("readBandwidth", Napi::Function::New(env, ReadBandwidth));
#if defined(BITNET_AVX512_EMULATED)
  exports.Set("avx512Emulated", Napi::Boolean::New(env, true));  // test-only build (SIMDe)
#else
  exports.Set("avx512Emulated", Napi::Boolean::New(env, false));
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(bitnet_kernels, Init)
