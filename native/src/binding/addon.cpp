// The Node-API module (node-addon-api, Node-API 8): selects the kernel table and starts the thread
// pool at load, then exports the kernel functions, the information / test hooks and
// the file mapping.
#include <napi.h>

#include <exception>
#include <string>

#include "../dispatch/dispatch.h"
#include "../threads/read_ahead.h"
#include "../threads/thread_pool.h"
#include "binding.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  try {
    bitnet::init_dispatch();
    bitnet::stream_prefetch();  // a bad BITNET_PREFETCH fails the load, as a bad BITNET_ISA does
    bitnet::ReadAheadPlan::instance();  // likewise a bad BITNET_READ_AHEAD_KB
    bitnet::ThreadPool::instance();
  } catch (const std::exception& e) {
    Napi::Error::New(env, std::string("@bitnet/kernels native addon: ") + e.what()).ThrowAsJavaScriptException();
    return exports;
  }
  bitnet::binding::register_kernels(env, exports);
  bitnet::binding::register_matmul_many(env, exports);
  bitnet::binding::register_attention(env, exports);
  bitnet::binding::register_info(env, exports);
  bitnet::binding::register_mapfile(env, exports);
  bitnet::binding::register_pages(env, exports);
  bitnet::binding::register_sampling(env, exports);
  bitnet::binding::register_screen(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(bitnet_kernels, Init)
