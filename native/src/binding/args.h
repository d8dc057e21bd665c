// Argument handling shared by the binding's functions: typed-array and integer extraction, the length
// checks, and the conversion of errors into JS exceptions.
//
// The binding checks only what memory safety needs: the type of every typed array it touches, that
// integers are integers in a range the kernels' index arithmetic can hold, that K is whole blocks
// of the weight type, and that every buffer is long enough for the shapes it is given (so no kernel
// reads or writes out of bounds). A failure throws a JS TypeError or RangeError naming the function
// and the argument. Everything else in the contract (odd rotary dims, head counts that do not divide,
// activation values...) is checked in TypeScript (packages/bitnet-kernels/src/api/CheckedKernels.ts).
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <string>

#include "../core/tensor_types.h"
#include "../dispatch/dispatch.h"

namespace bitnet {
namespace binding {

// An argument error: becomes a JS TypeError or RangeError.
struct ArgError {
  bool range;
  std::string message;
};

[[noreturn]] inline void type_error(const std::string& m) { throw ArgError{false, m}; }
[[noreturn]] inline void range_error(const std::string& m) { throw ArgError{true, m}; }

template <class T>
struct View {
  T* data;
  size_t length;  // elements
};

inline const char* typed_array_name(napi_typedarray_type t) {
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

/** A typed array's name with its article: "an Int8Array", "a Float32Array". */
inline std::string with_article(const char* type) {
  const char c = type[0];
  return std::string(c == 'I' || c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' ? "an " : "a ") + type;
}

template <class T>
inline View<T> typed(const Napi::Value& v, napi_typedarray_type want, const char* fn, const char* name) {
  if (!v.IsTypedArray()) type_error(std::string(fn) + ": " + name + " must be " + with_article(typed_array_name(want)));
  const Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != want) {
    type_error(std::string(fn) + ": " + name + " must be " + with_article(typed_array_name(want)) + ", got " +
               with_article(typed_array_name(ta.TypedArrayType())));
  }
  const size_t len = ta.ElementLength();
  T* data = len == 0 ? nullptr : reinterpret_cast<T*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
  return View<T>{data, len};
}

/**
 * The arguments of a call, or of one element of an array argument that holds a call's arguments (the
 * *Many functions): what the helpers below read, by index, with Length().
 */
struct ArrayArgs {
  Napi::Array arr;
  Napi::Value operator[](size_t i) const { return i < Length() ? arr.Get((uint32_t)i) : arr.Env().Undefined(); }
  size_t Length() const { return arr.Length(); }
};

template <class T, class Args>
inline View<T> typed(const Args& info, size_t i, napi_typedarray_type want, const char* fn, const char* name) {
  return typed<T>(info[i], want, fn, name);
}

template <class Args>
inline int64_t integer(const Args& info, size_t i, const char* fn, const char* name, int64_t lo, int64_t hi) {
  const Napi::Value v = info[i];
  if (!v.IsNumber()) type_error(std::string(fn) + ": " + name + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d == std::floor(d)) || d < (double)lo || d > (double)hi) {
    range_error(std::string(fn) + ": " + name + " = " + std::to_string(d) + " is not an integer in [" + std::to_string(lo) +
                ", " + std::to_string(hi) + "]");
  }
  return (int64_t)d;
}

template <class Args>
inline double number(const Args& info, size_t i, const char* fn, const char* name) {
  const Napi::Value v = info[i];
  if (!v.IsNumber()) type_error(std::string(fn) + ": " + name + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

/** Argument i as an f32 when it is given (a number), `absent` when it is missing or undefined. */
inline float optional_f32(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name, float absent) {
  if (info.Length() <= i || info[i].IsUndefined()) return absent;
  return (float)number(info, i, fn, name);
}

/** n = a·b·c... without overflow (every factor is already bounded to 2^31). */
inline int64_t mul(std::initializer_list<int64_t> f) {
  long double p = 1;
  int64_t r = 1;
  for (int64_t x : f) {
    p *= (long double)x;
    r *= x;
  }
  if (p > (long double)(int64_t{1} << 52)) range_error("the shape is too large (a product of its dimensions exceeds 2^52)");
  return r;
}

template <class T>
inline void need(const View<T>& v, int64_t elements, const char* fn, const char* name, const char* what) {
  if ((int64_t)v.length < elements) {
    range_error(std::string(fn) + ": " + name + " holds " + std::to_string(v.length) + " elements but " + what + " needs " +
                std::to_string(elements));
  }
}

constexpr int64_t kMaxDim = int64_t{1} << 31;

/** Which kernels of a tensor type a function needs (KernelTable::types[id]). */
enum class TypeUse { Dequant, MatmulF32 };

/** The row of ggml type `id` if the selected table has the kernel `use` for it; a RangeError otherwise. */
inline const TensorType& weight_type(int64_t id, const char* fn, TypeUse use) {
  const TensorType* t = tensor_type(id);
  if (t) {
    const TypeKernels& k = table().types[t->id];
    if (use == TypeUse::Dequant ? k.dequant_row != nullptr : k.matmul_f32 != nullptr) return *t;
  }
  range_error(std::string(fn) + ": ggml type " + std::to_string(id) + " is not supported here");
}

/** K must be whole blocks of `t`: the kernels index weight rows and activations block by block. */
inline void need_whole_blocks(const TensorType& t, int64_t K, const char* fn) {
  if (K % t.block_size) {
    range_error(std::string(fn) + ": K = " + std::to_string(K) + " is not a multiple of " + std::to_string(t.block_size) + " (the " +
                t.name + " block size)");
  }
}

/** Bytes a weight buffer of N rows × K values of type `t` must hold (rows, then the tensor trailer). */
inline int64_t weight_bytes(const TensorType& t, int64_t N, int64_t K) { return mul({N, (int64_t)row_bytes(t, K)}) + (int64_t)t.trailer_bytes; }

/** An F32/F16/BF16 matrix of N rows × K values (K a multiple of 32) that a Q8_0 conversion reads. */
struct Q8_0Source {
  const TensorType& type;
  View<const uint8_t> w;
  int64_t N, K;
};

/** Q8_0Source from arguments 0..3 (type, w: Uint8Array, N, K), checked. */
template <class Args>
inline Q8_0Source q8_0_source(const Args& info, const char* fn) {
  const TensorType& type = weight_type(integer(info, 0, fn, "w.type", 0, 1000), fn, TypeUse::Dequant);
  if (type.id != GGML_F32 && type.id != GGML_F16 && type.id != GGML_BF16) range_error(std::string(fn) + ": w.type must be F32, F16 or BF16");
  auto w = typed<const uint8_t>(info, 1, napi_uint8_array, fn, "w.data");
  const int64_t N = integer(info, 2, fn, "N (w.rows)", 0, kMaxDim);
  const int64_t K = integer(info, 3, fn, "K (w.cols)", 0, kMaxDim);
  if (K % 32) range_error(std::string(fn) + ": K (w.cols) is not a multiple of 32");
  need(w, weight_bytes(type, N, K), fn, "w.data", "N rows of K values");
  return {type, w, N, K};
}

/** The operands of a float matmul: N rows × K values of weights (type with a matmul_f32 kernel) and M rows of x. */
struct FloatOperands {
  const TensorType& type;
  View<const uint8_t> w;
  int64_t N, K;
  View<const float> x;
  int64_t M;
};

/** FloatOperands from arguments 0..5 (type, w: Uint8Array, N, K, x: Float32Array, M), checked. */
template <class Args>
inline FloatOperands float_operands(const Args& info, const char* fn) {
  const TensorType& type = weight_type(integer(info, 0, fn, "w.type", 0, 1000), fn, TypeUse::MatmulF32);
  auto w = typed<const uint8_t>(info, 1, napi_uint8_array, fn, "w.data");
  const int64_t N = integer(info, 2, fn, "N (w.rows)", 0, kMaxDim);
  const int64_t K = integer(info, 3, fn, "K (w.cols)", 0, kMaxDim);
  need_whole_blocks(type, K, fn);
  auto x = typed<const float>(info, 4, napi_float32_array, fn, "x");
  const int64_t M = integer(info, 5, fn, "xRows", 0, kMaxDim);
  need(w, weight_bytes(type, N, K), fn, "w.data", "N rows of K values");
  need(x, mul({M, K}), fn, "x", "xRows × K");
  return {type, w, N, K, x, M};
}

/** Runs body, converting argument errors and C++ exceptions into JS exceptions. */
template <class F>
inline Napi::Value guarded(const Napi::CallbackInfo& info, const char* fn, F&& body) {
  Napi::Env env = info.Env();
  try {
    return body();
  } catch (const ArgError& e) {
    // Messages name the function; the few helpers that cannot (mul) get it here.
    const std::string msg = e.message.rfind(std::string(fn) + ":", 0) == 0 ? e.message : std::string(fn) + ": " + e.message;
    if (e.range) Napi::RangeError::New(env, msg).ThrowAsJavaScriptException();
    else Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
  } catch (const std::exception& e) {
    Napi::Error::New(env, std::string("bitnet_kernels.") + fn + ": native error: " + e.what()).ThrowAsJavaScriptException();
  } catch (...) {
    Napi::Error::New(env, std::string("bitnet_kernels.") + fn + ": unknown native error").ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

template <class Args>
inline void need_args(const Args& info, size_t n, const char* fn) {
  if (info.Length() < n) type_error(std::string(fn) + ": expected " + std::to_string(n) + " arguments, got " + std::to_string(info.Length()));
}

}  // namespace binding
}  // namespace bitnet
