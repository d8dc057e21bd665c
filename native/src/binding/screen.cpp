// The screening kernels of the addon: matmulFloatPicked (chosen elements of a float matmul) and
// screenBoundsQ8_0 (per-row bounds of a matrix against its Q8_0 copy). Argument checks as kernels.cpp:
// what memory safety needs, every index included; the rest of the contract is checked in TypeScript.
#include <napi.h>

#include <string>

#include "../convert/convert.h"
#include "../core/tensor_types.h"
#include "../threads/drivers.h"
#include "args.h"
#include "binding.h"

namespace bitnet {
namespace binding {

namespace {

/** Every ids[i] in [0, n): a RangeError naming the first that is not. */
void need_indices(const View<const int32_t>& ids, int64_t n, const char* fn, const char* name) {
  for (size_t i = 0; i < ids.length; ++i) {
    if (ids.data[i] < 0 || ids.data[i] >= n) {
      range_error(std::string(fn) + ": " + name + "[" + std::to_string(i) + "] = " + std::to_string(ids.data[i]) + " is outside [0, " +
                  std::to_string(n) + ")");
    }
  }
}

// matmulFloatPicked(type, w: Uint8Array, N, K, x: Float32Array, M, wRow: Int32Array, xRow: Int32Array, out: Float32Array)
Napi::Value MatmulFloatPicked(const Napi::CallbackInfo& info) {
  const char* fn = "matmulFloatPicked";
  return guarded(info, fn, [&] {
    need_args(info, 9, fn);
    const FloatOperands a = float_operands(info, fn);
    auto w_row = typed<const int32_t>(info, 6, napi_int32_array, fn, "wRow");
    auto x_row = typed<const int32_t>(info, 7, napi_int32_array, fn, "xRow");
    auto out = typed<float>(info, 8, napi_float32_array, fn, "out");
    const int64_t P = (int64_t)w_row.length;
    need(x_row, P, fn, "xRow", "wRow.length");
    need(out, P, fn, "out", "wRow.length");
    need_indices(w_row, a.N, fn, "wRow");
    need_indices(View<const int32_t>{x_row.data, (size_t)P}, a.M, fn, "xRow");
    matmul_float_picked(a.type, a.w.data, a.K, a.x.data, w_row.data, x_row.data, P, out.data);
    return info.Env().Undefined();
  });
}

// screenBoundsQ8_0(type, w: Uint8Array, N, K, q: Uint8Array, out: Float32Array)
Napi::Value ScreenBoundsQ8_0(const Napi::CallbackInfo& info) {
  const char* fn = "screenBoundsQ8_0";
  return guarded(info, fn, [&] {
    need_args(info, 6, fn);
    const Q8_0Source src = q8_0_source(info, fn);
    auto q = typed<const uint8_t>(info, 4, napi_uint8_array, fn, "q.data");
    auto out = typed<float>(info, 5, napi_float32_array, fn, "out");
    need(q, mul({src.N, src.K / QK8_0, (int64_t)Q8_0_BYTES}), fn, "q.data", "N rows of K/32 Q8_0 blocks");
    need(out, mul({src.N, 3}), fn, "out", "3 × N");
    screen_bounds_q8_0(src.type, src.w.data, q.data, src.N, src.K, out.data);
    return info.Env().Undefined();
  });
}

}  // namespace

void register_screen(Napi::Env env, Napi::Object exports) {
  exports.Set("matmulFloatPicked", Napi::Function::New(env, MatmulFloatPicked));
  exports.Set("screenBoundsQ8_0", Napi::Function::New(env, ScreenBoundsQ8_0));
}

}  // namespace binding
}  // namespace bitnet
