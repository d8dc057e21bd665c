// The kernel functions of the addon: each takes its arguments from JS, checks what memory safety needs
// (args.h), and runs a driver (threads/drivers.h) synchronously on the calling JS thread plus the
// native pool, whose threads never touch Node-API.
#include <napi.h>

#include <string>
#include <vector>

#include "../convert/convert.h"
#include "../core/tensor_types.h"
#include "../threads/drivers.h"
#include "args.h"
#include "binding.h"

namespace bitnet {
namespace binding {

namespace {

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
    auto qs = typed<int8_t>(info, 3, napi_int8_array, fn, "qs");
    auto d = typed<float>(info, 4, napi_float32_array, fn, "d");
    auto bs = typed<int16_t>(info, 5, napi_int16_array, fn, "bsums");
    const int64_t n = mul({rows, cols});
    need(x, n, fn, "x", "rows × cols");
    need(qs, n, fn, "qs", "rows × cols");
    // Row r's scales start at r·(cols/256), its block sums at r·(cols/16) (whole blocks of each row only).
    need(d, mul({rows, cols / 256}), fn, "d", "rows × cols/256");
    need(bs, mul({rows, cols / 16}), fn, "bsums", "rows × cols/16");
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
    auto qs = typed<int8_t>(info, 3, napi_int8_array, fn, "qs");
    auto d = typed<float>(info, 4, napi_float32_array, fn, "d");
    const int64_t n = mul({rows, cols});
    need(x, n, fn, "x", "rows × cols");
    need(qs, n, fn, "qs", "rows × cols");
    need(d, mul({rows, cols / 32}), fn, "d", "rows × cols/32");
    quantize_q8_0(x.data, rows, cols, qs.data, d.data);
    return info.Env().Undefined();
  });
}

// matmulQ8_0Q8_0(w: Uint8Array, N, K, qs: Int8Array, d: Float32Array, M, out, scale?: number)
Napi::Value MatmulQ8_0Q8_0(const Napi::CallbackInfo& info) {
  const char* fn = "matmulQ8_0Q8_0";
  return guarded(info, fn, [&] {
    need_args(info, 7, fn);
    auto w = typed<const uint8_t>(info, 0, napi_uint8_array, fn, "w.data");
    const int64_t N = integer(info, 1, fn, "N (w.rows)", 0, kMaxDim);
    const TensorType& type = *tensor_type(GGML_Q8_0);
    // Integer lanes are per 32-block (at most 4·128·127 in magnitude): no bound on K beyond kMaxDim.
    const int64_t K = integer(info, 2, fn, "K (w.cols)", 0, kMaxDim);
    need_whole_blocks(type, K, fn);
    auto qs = typed<const int8_t>(info, 3, napi_int8_array, fn, "a.qs");
    auto d = typed<const float>(info, 4, napi_float32_array, fn, "a.d");
    const int64_t M = integer(info, 5, fn, "M (a.rows)", 0, kMaxDim);
    auto out = typed<float>(info, 6, napi_float32_array, fn, "out");
    need(w, weight_bytes(type, N, K), fn, "w.data", "N rows of K/32 blocks");
    need(qs, mul({M, K}), fn, "a.qs", "rows × K");
    need(d, mul({M, K / 32}), fn, "a.d", "rows × K/32");
    need(out, mul({M, N}), fn, "out", "rows × N");
    matmul_q8_0_q8_0(w.data, N, K, qs.data, d.data, M, out.data, optional_f32(info, 7, fn, "scale", 1.0f));
    return info.Env().Undefined();
  });
}

// matmulI2sI8(w: Uint8Array, N, K, qs: Int8Array, scales: Float32Array, sums: Int32Array, M, out: Float32Array, scale?: number)
Napi::Value MatmulI2sI8(const Napi::CallbackInfo& info) {
  const char* fn = "matmulI2sI8";
  return guarded(info, fn, [&] {
    need_args(info, 8, fn);
    auto w = typed<const uint8_t>(info, 0, napi_uint8_array, fn, "w.data");
    const int64_t N = integer(info, 1, fn, "N (w.rows)", 0, kMaxDim);
    const TensorType& type = *tensor_type(GGML_I2_S);
    const int64_t K = integer(info, 2, fn, "K (w.cols)", 0, type.max_k);
    need_whole_blocks(type, K, fn);
    auto qs = typed<const int8_t>(info, 3, napi_int8_array, fn, "a.qs");
    auto sc = typed<const float>(info, 4, napi_float32_array, fn, "a.scales");
    auto su = typed<const int32_t>(info, 5, napi_int32_array, fn, "a.sums");
    const int64_t M = integer(info, 6, fn, "M (a.rows)", 0, kMaxDim);
    auto out = typed<float>(info, 7, napi_float32_array, fn, "out");
    need(w, weight_bytes(type, N, K), fn, "w.data", "N·K/4 packed bytes + the f32 scale");
    need(qs, mul({M, K}), fn, "a.qs", "rows × K");
    need(sc, M, fn, "a.scales", "rows");
    need(su, M, fn, "a.sums", "rows");
    need(out, mul({M, N}), fn, "out", "rows × N");
    matmul_i2s_i8(w.data, N, K, qs.data, sc.data, su.data, M, out.data, optional_f32(info, 8, fn, "scale", 1.0f));
    return info.Env().Undefined();
  });
}

// matmulTq2_0Q8K / matmulTq1_0Q8K(w: Uint8Array, N, K, qs: Int8Array, d: Float32Array, M, out, scale?: number)
// (scale, absent: 1, multiplies the output as the `scale` kernel does.)
Napi::Value MatmulTq(const Napi::CallbackInfo& info, GgmlType id, const char* fn) {
  return guarded(info, fn, [&] {
    const TensorType& type = *tensor_type(id);
    need_args(info, 7, fn);
    auto w = typed<const uint8_t>(info, 0, napi_uint8_array, fn, "w.data");
    const int64_t N = integer(info, 1, fn, "N (w.rows)", 0, kMaxDim);
    const int64_t K = integer(info, 2, fn, "K (w.cols)", 0, type.max_k);
    need_whole_blocks(type, K, fn);
    auto qs = typed<const int8_t>(info, 3, napi_int8_array, fn, "a.qs");
    auto d = typed<const float>(info, 4, napi_float32_array, fn, "a.d");
    const int64_t M = integer(info, 5, fn, "M (a.rows)", 0, kMaxDim);
    auto out = typed<float>(info, 6, napi_float32_array, fn, "out");
    need(w, weight_bytes(type, N, K), fn, "w.data", "N rows of K/256 blocks");
    need(qs, mul({M, K}), fn, "a.qs", "rows × K");
    need(d, mul({M, K / 256}), fn, "a.d", "rows × K/256");
    need(out, mul({M, N}), fn, "out", "rows × N");
    matmul_tq_q8k(type, w.data, N, K, qs.data, d.data, M, out.data, optional_f32(info, 7, fn, "scale", 1.0f));
    return info.Env().Undefined();
  });
}
Napi::Value MatmulTq2(const Napi::CallbackInfo& info) { return MatmulTq(info, GGML_TQ2_0, "matmulTq2_0Q8K"); }
Napi::Value MatmulTq1(const Napi::CallbackInfo& info) { return MatmulTq(info, GGML_TQ1_0, "matmulTq1_0Q8K"); }

// matmulFloat(type, w: Uint8Array, N, K, x: Float32Array, M, out)
Napi::Value MatmulFloat(const Napi::CallbackInfo& info) {
  const char* fn = "matmulFloat";
  return guarded(info, fn, [&] {
    need_args(info, 7, fn);
    const FloatOperands a = float_operands(info, fn);
    auto out = typed<float>(info, 6, napi_float32_array, fn, "out");
    need(out, mul({a.M, a.N}), fn, "out", "xRows × N");
    matmul_float(a.type, a.w.data, a.N, a.K, a.x.data, a.M, out.data);
    return info.Env().Undefined();
  });
}

// getRows(type, w: Uint8Array, N, K, ids: Int32Array, out: Float32Array)
Napi::Value GetRows(const Napi::CallbackInfo& info) {
  const char* fn = "getRows";
  return guarded(info, fn, [&] {
    need_args(info, 6, fn);
    const TensorType& type = weight_type(integer(info, 0, fn, "w.type", 0, 1000), fn, TypeUse::Dequant);
    auto w = typed<const uint8_t>(info, 1, napi_uint8_array, fn, "w.data");
    const int64_t N = integer(info, 2, fn, "N (w.rows)", 0, kMaxDim);
    const int64_t K = integer(info, 3, fn, "K (w.cols)", 0, kMaxDim);
    need_whole_blocks(type, K, fn);
    auto ids = typed<const int32_t>(info, 4, napi_int32_array, fn, "ids");
    auto out = typed<float>(info, 5, napi_float32_array, fn, "out");
    need(w, weight_bytes(type, N, K), fn, "w.data", "N rows of K values");
    need(out, mul({(int64_t)ids.length, K}), fn, "out", "ids.length × K");
    for (size_t i = 0; i < ids.length; ++i) {
      if (ids.data[i] < 0 || ids.data[i] >= N) {
        range_error(std::string(fn) + ": ids[" + std::to_string(i) + "] = " + std::to_string(ids.data[i]) + " is outside [0, " + std::to_string(N) + ")");
      }
    }
    get_rows(type, w.data, N, K, ids.data, (int64_t)ids.length, out.data);
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
    const int64_t blocks = (int64_t)(dst.length / TQ2_0_BYTES);  // whole TQ2_0 blocks of dst
    need(src, blocks * (int64_t)TQ1_0_BYTES, fn, "src", "54 bytes per block of dst");
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
    need(out, blocks * (int64_t)Q8_0_BYTES, fn, "out", "34 bytes per 32 values");
    encode_q8_0(x.data, blocks, out.data);
    return info.Env().Undefined();
  });
}

// encodeQ8_0Rows(type, w: Uint8Array, N, K, out: Uint8Array)
Napi::Value EncodeQ8_0Rows(const Napi::CallbackInfo& info) {
  const char* fn = "encodeQ8_0Rows";
  return guarded(info, fn, [&] {
    need_args(info, 5, fn);
    const Q8_0Source src = q8_0_source(info, fn);
    auto out = typed<uint8_t>(info, 4, napi_uint8_array, fn, "out");
    need(out, mul({src.N, src.K / 32, (int64_t)Q8_0_BYTES}), fn, "out", "34 bytes per 32 values");
    encode_q8_0_rows(src.type, src.w.data, src.N, src.K, out.data);
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

}  // namespace

void register_kernels(Napi::Env env, Napi::Object exports) {
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
  exports.Set("reluSqrMul", Napi::Function::New(env, ReluSqrMul));
  exports.Set("siluMul", Napi::Function::New(env, SiluMul));
  exports.Set("add", Napi::Function::New(env, Add));
  exports.Set("scale", Napi::Function::New(env, Scale));
  exports.Set("toF16", Napi::Function::New(env, ToF16));
  exports.Set("repackTq1_0AsTq2_0", Napi::Function::New(env, RepackTq1_0AsTq2_0));
  exports.Set("encodeQ8_0", Napi::Function::New(env, EncodeQ8_0));
  exports.Set("encodeQ8_0Rows", Napi::Function::New(env, EncodeQ8_0Rows));
}

}  // namespace binding
}  // namespace bitnet
