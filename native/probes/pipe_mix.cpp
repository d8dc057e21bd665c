// Port probe: what one extra instruction costs inside a stream of the instruction a kernel is bound
// by. Not part of the addon; tools/src/bench/pipe-probe.ts compiles it (g++ -O2, once per width) and
// prints its table.
//
// Two base streams, eight independent accumulators each, so they run at their throughput:
//   dp  — the int8 dot product the ternary kernels issue: vpdpbusd (zmm in the 512 build, ymm with the
//         VEX encoding of AVX-VNNI in the 256 build when the CPU has it) or, on AVX2 alone, vpmaddubsw;
//   fma — vfmadd231ps, what the float, attention and TQ2_0 epilogue loops issue.
// Each probe adds two copies of one other instruction per eight base instructions (independent of the
// base chains, so only ports and front end can slow the loop) and prints the extra time in units of one
// base instruction: 0 means the added instruction found a port the base stream does not need; 1 means
// it took a base instruction's slot. The times are ratios of loop times, so the clock rate cancels.
//
// The asm templates name no register width: the operands' types pick xmm/ymm/zmm, so one source serves
// both builds (PROBE_512 selects the types and the 512-only instructions).
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#ifdef PROBE_512
using VI = __m512i;
using VF = __m512;
#define WIDTH 512
#define VPAND "vpandd"
#define VLOADU "vmovdqu64"
#else
using VI = __m256i;
using VF = __m256;
#define WIDTH 256
#define VPAND "vpand"
#define VLOADU "vmovdqu"
#endif

namespace {

alignas(64) float fbuf[512];
alignas(64) unsigned char ubuf[4096];
/** vpermb and vpmultishiftqb are timed only with VBMI, vgf2p8affineqb only with GFNI (third argument: "vbmi,gfni"). */
bool g_vbmi = false, g_gfni = false;

enum Base { DP, FMA };
enum Dp { VNNI, VNNI_VEX, MADDUBS };

// The loop body is spelled out with macros over locals: held in a struct, the accumulators went through
// memory around every asm statement and the probe measured stores.
#define DP1(a)                                                                                                        \
  if constexpr (DPK == VNNI) __asm__ volatile("vpdpbusd %2, %1, %0" : "+v"(a) : "v"(x), "v"(y));                  \
  else if constexpr (DPK == VNNI_VEX) __asm__ volatile("%{vex%} vpdpbusd %2, %1, %0" : "+x"(a) : "x"(x), "x"(y)); \
  else __asm__ volatile("vpmaddubsw %2, %1, %0" : "=v"(a) : "v"(x), "v"(y));
#define F1(f) __asm__ volatile("vfmadd231ps %2, %1, %0" : "+v"(f) : "v"(fx), "v"(fy));
#define TWO(op, d0, s0, d1, s1, ...) \
  __asm__ volatile(op : "=v"(d0) : s0, ##__VA_ARGS__); \
  __asm__ volatile(op : "=v"(d1) : s1, ##__VA_ARGS__);

template <int B, int DPK, int E>
double time_loop(long iters) {
  if (((E == 21 || E == 23) && !g_vbmi) || (E == 22 && !g_gfni)) return time_loop<B, DPK, 0>(iters);
  VI a0{}, a1{}, a2{}, a3{}, a4{}, a5{}, a6{}, a7{}, x{}, y{}, i0{}, i1{}, i2{}, idx{};
  VF f0{}, f1{}, f2{}, f3{}, f4{}, f5{}, f6{}, f7{}, p0{}, p1{}, p2{};
  VF fx = VF{} + 1.0f, fy = fx;
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    for (long n = 0; n < iters; ++n) {
      if constexpr (B == DP) {
        DP1(a0) DP1(a1) DP1(a2) DP1(a3) DP1(a4) DP1(a5) DP1(a6) DP1(a7)
      } else {
        F1(f0) F1(f1) F1(f2) F1(f3) F1(f4) F1(f5) F1(f6) F1(f7)
      }
      if constexpr (E == 1) { TWO("vmulps %2, %1, %0", p0, "v"(p1), p1, "v"(p2), "v"(fx)) }
      if constexpr (E == 2) { __asm__ volatile("vfmadd231ps %2, %1, %0" : "+v"(p0) : "v"(p1), "v"(fx)); __asm__ volatile("vfmadd231ps %2, %1, %0" : "+v"(p1) : "v"(p2), "v"(fx)); }
      if constexpr (E == 3) { TWO("vaddps %2, %1, %0", p0, "v"(p1), p1, "v"(p2), "v"(fx)) }
      if constexpr (E == 4) { TWO("vcvtdq2ps %1, %0", p0, "v"(i0), p1, "v"(i1)) }
      if constexpr (E == 5) { TWO("vcvtph2ps %1, %0", p0, "m"(*reinterpret_cast<const unsigned char(*)[WIDTH / 16]>(ubuf)), p1, "m"(*reinterpret_cast<const unsigned char(*)[WIDTH / 16]>(ubuf + 64))) }
      if constexpr (E == 6) { TWO("vpermps %1, %2, %0", p0, "v"(p1), p1, "v"(p2), "v"(idx)) }
      if constexpr (E == 7) { TWO("vpermd %1, %2, %0", i0, "v"(i1), i1, "v"(i2), "v"(idx)) }
      if constexpr (E == 8) { TWO("vpermilps %2, %1, %0", p0, "v"(p1), p1, "v"(p2), "v"(idx)) }
      if constexpr (E == 9) { TWO("vshufps $0x88, %2, %1, %0", p0, "v"(p1), p1, "v"(p2), "v"(fx)) }
      if constexpr (E == 10) { TWO(VPAND " %2, %1, %0", i0, "v"(i1), i1, "v"(i2), "v"(x)) }
      if constexpr (E == 11) { TWO("vpsrlw $2, %1, %0", i0, "v"(i1), i1, "v"(i2)) }
      if constexpr (E == 12) { TWO("vpaddd %2, %1, %0", i0, "v"(i1), i1, "v"(i2), "v"(x)) }
      if constexpr (E == 13) { TWO(VLOADU " %1, %0", i0, "m"(*reinterpret_cast<const VI*>(ubuf)), i1, "m"(*reinterpret_cast<const VI*>(ubuf + 128))) }
      if constexpr (E == 14) { TWO(VLOADU " %1, %0", i0, "m"(*reinterpret_cast<const VI*>(ubuf + 2)), i1, "m"(*reinterpret_cast<const VI*>(ubuf + 134))) }
      if constexpr (E == 15) { TWO("vbroadcastss %1, %0", p0, "m"(fbuf[0]), p1, "m"(fbuf[32])) }
      if constexpr (E == 16) { TWO("vbroadcastsd %1, %0", p0, "m"(fbuf[2]), p1, "m"(fbuf[34])) }
      if constexpr (E == 17) { __asm__ volatile("vmovups %1, %0" : "=m"(*reinterpret_cast<VF*>(fbuf + 64)) : "v"(p0)); __asm__ volatile("vmovups %1, %0" : "=m"(*reinterpret_cast<VF*>(fbuf + 128)) : "v"(p1)); }
      if constexpr (E == 18) { __asm__ volatile("vfmadd231ps %2, %1, %0" : "+v"(p0) : "v"(fx), "m"(*reinterpret_cast<const VF*>(fbuf + 192))); __asm__ volatile("vfmadd231ps %2, %1, %0" : "+v"(p1) : "v"(fx), "m"(*reinterpret_cast<const VF*>(fbuf + 256))); }
#ifdef PROBE_512
      if constexpr (E == 19) { TWO("vshuff32x4 $0x44, %2, %1, %0", p0, "v"(p1), p1, "v"(p2), "v"(fx)) }
      if constexpr (E == 20) { TWO("vbroadcasti64x4 %1, %0", i0, "m"(*reinterpret_cast<const __m256i*>(ubuf)), i1, "m"(*reinterpret_cast<const __m256i*>(ubuf + 66))) }
      if constexpr (E == 21) { TWO("vpermb %1, %2, %0", i0, "v"(i1), i1, "v"(i2), "v"(idx)) }
      if constexpr (E == 22) { TWO("vgf2p8affineqb $0, %2, %1, %0", i0, "v"(i1), i1, "v"(i2), "v"(idx)) }
      if constexpr (E == 23) { TWO("vpmultishiftqb %2, %1, %0", i0, "v"(i1), i1, "v"(i2), "v"(idx)) }
#endif
      if constexpr (E == 24) { TWO("vpmaddubsw %2, %1, %0", i0, "v"(i1), i1, "v"(i2), "v"(x)) }
      // Issue width: eight each of two instructions that are free two at a time.
      if constexpr (E == 25) {
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) { TWO(VPAND " %2, %1, %0", i0, "v"(i1), i1, "v"(i2), "v"(x)) TWO("vpsrlw $2, %1, %0", p0, "v"(i1), p1, "v"(i2)) }
      }
      if constexpr (E == 26) {
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) { TWO("vpsrlw $2, %1, %0", i0, "v"(i1), i1, "v"(i2)) TWO("vcvtdq2ps %1, %0", p0, "v"(i1), p1, "v"(i2)) }
      }
    }
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

constexpr int kExtras = 27;
/** How many instructions probe E adds per eight base instructions. */
constexpr double added(int e) { return e >= 25 ? 16.0 : 2.0; }
const char* const kNames[kExtras] = {
    "(none)", "vmulps", "vfmadd231ps", "vaddps", "vcvtdq2ps", "vcvtph2ps (memory)", "vpermps", "vpermd",
    "vpermilps (vector control)", "vshufps", "vpand", "vpsrlw", "vpaddd", "load (aligned)", "load (across two lines)",
    "vbroadcastss (memory)", "vbroadcastsd (memory)", "store", "vfmadd231ps (memory operand)", "vshuff32x4",
    "vbroadcasti64x4 (memory)", "vpermb", "vgf2p8affineqb", "vpmultishiftqb", "vpmaddubsw",
    "8 vpand + 8 vpsrlw (per 8)", "8 vpsrlw + 8 vcvtdq2ps (per 8)"};

template <int B, int DPK, int... E>
void row_all(long iters, double* slots, std::integer_sequence<int, E...>) {
  const double base = time_loop<B, DPK, 0>(iters);
  // Extra time per extra instruction, in base-instruction units: 8 base instructions took `base`.
  ((slots[E] = (time_loop<B, DPK, E>(iters) - base) / base * 8.0 / added(E)), ...);
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const long iters = quick ? 200000 : 20000000;
  const char* dpKind = argc > 2 ? argv[2] : "maddubs";  // vnni | vnni-vex | maddubs
  const char* isa = argc > 3 ? argv[3] : "";
  g_vbmi = std::strstr(isa, "vbmi") != nullptr;
  g_gfni = std::strstr(isa, "gfni") != nullptr;
  double dp[kExtras] = {}, fma[kExtras] = {};
  const auto seq = std::make_integer_sequence<int, kExtras>{};
#ifdef PROBE_512
  dpKind = "vnni";  // 512-bit vpdpbusd (the 512 build runs only on AVX-512 VNNI CPUs)
  row_all<DP, VNNI>(iters, dp, seq);
#else
  if (std::strcmp(dpKind, "vnni-vex") == 0) row_all<DP, VNNI_VEX>(iters, dp, seq);
  else dpKind = "maddubs", row_all<DP, MADDUBS>(iters, dp, seq);
#endif
  row_all<FMA, MADDUBS>(iters, fma, seq);
  std::printf("width %d, dp stream: %s\n", WIDTH, dpKind);
  for (int e = 1; e < kExtras; ++e) {
    if (WIDTH == 256 && e >= 19 && e <= 23) continue;  // 512-bit only
    if (((e == 21 || e == 23) && !g_vbmi) || (e == 22 && !g_gfni)) continue;
    std::printf("%s\t%.2f\t%.2f\n", kNames[e], dp[e], fma[e]);
  }
  return 0;
}
