/**
 * f32 arithmetic of ggml's x86 CPU backend (llama.cpp as bundled in node-llama-cpp 3.22.1, the
 * `haswell` variant: AVX2 + FMA + F16C), emulated exactly in JavaScript doubles. Shared by the
 * TypeScript kernels; the native portable kernels (native/src/ref/ with core/ggml_math.h) implement the same
 * functions with C's fmaf. Each function names the ggml code it reproduces; see api/Kernels.ts.
 */

const fround = Math.fround;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer); // little-endian: u32[0] = low word, u32[1] = high word
const f32 = new Float32Array(1);
const b32 = new Uint32Array(f32.buffer);

/**
 * fmaf(a, b, c) for f32 a, b, c: a·b + c rounded once to f32 (vfmadd…ss/ps). a·b is exact in a double;
 * the sum is formed in double with its exact error (TwoSum) and rounded to odd, after which rounding
 * to f32 is correct (53 ≥ 24 + 2 bits): no double-rounding case remains.
 */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const bb = s - p;
  const e = p - (s - bb) + (c - bb);
  if (e === 0 || e !== e) return fround(s); // exact, or s is ±∞ / NaN
  f64[0] = s;
  if ((u32[0] & 1) === 0) {
    // s is even: step to the odd neighbour on the side of the true value (no carry: low bit is 0)
    if (e > 0 === s > 0) u32[0] += 1;
    else if (u32[0] === 0) {
      u32[0] = 0xffffffff;
      u32[1] -= 1;
    } else u32[0] -= 1;
    return fround(f64[0]);
  }
  return fround(s);
}

/** The bits of an f32 value / the f32 value of 32 bits. */
function bitsOf(x: number): number {
  f32[0] = x;
  return b32[0];
}
function fromBits(u: number): number {
  b32[0] = u >>> 0;
  return f32[0];
}

const ONE_BITS = 0x3f800000;

/**
 * ggml_v_expf (vec.h, AVX2 branch) for one lane: the f32 exp approximation ggml uses in ggml_vec_swiglu_f32,
 * ggml_vec_silu_f32 and ggml_vec_soft_max_f32. Lanes are independent (the slow path for |n| > 126
 * gives every other lane the fast-path value), so one lane at a time is exact.
 */
export function vExpf(x: number): number {
  const r = 12582912; // 0x1.8p23
  const z = fmaf(x, 1.4426950216293335, r); // 0x1.715476p+0
  const n = fround(z - r);
  const b = fmaf(-n, 1.428606765330187e-6, fmaf(-n, 0.693145751953125, x)); // 0x1.7f7d1cp-20, 0x1.62e4p-1
  const e = (bitsOf(z) << 23) >>> 0;
  const k = fromBits((e + ONE_BITS) >>> 0);
  const u = fround(b * b);
  const j = fmaf(
    fmaf(fmaf(0.008247390389442444, b, 0.04189976677298546), u, fmaf(0.16668395698070526, b, 0.4999912679195404)),
    u,
    fround(0.9999994039535522 * b),
  ); // 0x1.0e4020p-7, 0x1.573e2ep-5, 0x1.555e66p-3, 0x1.fffdb6p-2, 0x1.ffffecp-1
  const an = Math.abs(n);
  if (!(an > 126)) return fmaf(j, k, k);
  const g = n <= 0 ? 0x82000000 : 0;
  const s1 = fromBits((g + 0x7f000000) >>> 0);
  const s2 = fromBits((e - g) >>> 0);
  if (an > 192) return fround(s1 * s1);
  return fround(fmaf(s2, j, s2) * s1);
}

/** ggml_v_silu for one lane: x / (1 + v_expf(0 − x)), every step in f32. */
export function vSilu(x: number): number {
  return fround(x / fround(1 + vExpf(fround(0 - x))));
}

/** hsum_float_8 (x86 quants.c) and tinyBLAS's hsum(__m256): ((v0+v4) + (v2+v6)) + ((v1+v5) + (v3+v7)). */
export function hsum8(v: ArrayLike<number>, o = 0): number {
  const a0 = fround(v[o] + v[o + 4]);
  const a1 = fround(v[o + 1] + v[o + 5]);
  const a2 = fround(v[o + 2] + v[o + 6]);
  const a3 = fround(v[o + 3] + v[o + 7]);
  return fround(fround(a0 + a2) + fround(a1 + a3));
}

/**
 * The lane reduction of ggml_vec_dot_f16's four 8-lane accumulators acc[j·8 + l] (GGML_F32x8_REDUCE):
 * lane-wise (acc0 + acc2) + (acc1 + acc3), then t_l = s_l + s_{l+4}, then (t0 + t1) + (t2 + t3).
 */
export function reduceF16Acc(acc: ArrayLike<number>): number {
  const s = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let l = 0; l < 8; l++) s[l] = fround(fround(acc[l] + acc[16 + l]) + fround(acc[8 + l] + acc[24 + l]));
  const t0 = fround(s[0] + s[4]);
  const t1 = fround(s[1] + s[5]);
  const t2 = fround(s[2] + s[6]);
  const t3 = fround(s[3] + s[7]);
  return fround(fround(t0 + t1) + fround(t2 + t3));
}

// ---- glibc's sincosf (libm 2.36, the FMA build selected on AVX2 + FMA CPUs), which ggml's RoPE calls ----

const f64b = new Float64Array(1);
const u64b = new BigUint64Array(f64b.buffer);

/** The double next to s in the direction of e (s finite, non-zero). */
function stepToward(s: number, e: number): number {
  f64b[0] = s;
  u64b[0] += e > 0 === s > 0 ? 1n : -1n;
  return f64b[0];
}

/**
 * fma(a, b, c) for doubles, rounded once (vfmadd…sd): a·b exactly as p + q (Veltkamp/Dekker), then
 * RN(th + RO(tl + q)) with (th, tl) = TwoSum(c, p) — Boldo & Melquiond's emulation with rounding to odd.
 * (Valid away from overflow and underflow, which sincosf's polynomial never reaches.)
 */
export function fma64(a: number, b: number, c: number): number {
  const p = a * b;
  const SPLIT = 134217729; // 2^27 + 1
  let t = SPLIT * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b);
  const bl = b - bh;
  const q = ah * bh - p + ah * bl + al * bh + al * bl;
  const th = c + p;
  const bv = th - c;
  const tl = c - (th - bv) + (p - bv);
  let v = tl + q;
  const vb = v - tl;
  const w = tl - (v - vb) + (q - vb);
  if (w !== 0 && v !== 0) {
    f64b[0] = v;
    if ((u64b[0] & 1n) === 0n) v = stepToward(v, w);
  }
  return th + v;
}

// glibc's table (s_sincosf_data.c): sign of sine per quadrant, then 2/π·2^24, π/2, and the
// polynomial coefficients; the second entry negates the cosine polynomial.
const SC_SIGN = [1, -1, -1, 1];
const HPI_INV = 10680707.430881744; // 0x1.45f306dc9c883p+23
const HPI = 1.5707963267948966; // 0x1.921fb54442d18p+0
const PI63 = 3.4061215800865545e-19; // 0x1.921fb54442d18p-62
interface SinCosPoly { c0: number; c1: number; c2: number; c3: number; c4: number; s1: number; s2: number; s3: number }
const SC_POLY: [SinCosPoly, SinCosPoly] = [
  { c0: 1, c1: -0.49999999725108224, c2: 0.041666623324344516, c3: -0.001388676379437604, c4: 2.4390450703564542e-5, s1: -0.16666654943701084, s2: 0.008332178146138854, s3: -0.00019517298981385725 },
  { c0: -1, c1: 0.49999999725108224, c2: -0.041666623324344516, c3: 0.001388676379437604, c4: -2.4390450703564542e-5, s1: -0.16666654943701084, s2: 0.008332178146138854, s3: -0.00019517298981385725 },
];
// 4/π to 192 bits, 8 new bits per entry (s_sincosf_data.c's __inv_pio4).
const INV_PIO4 = [
  0xa2, 0xa2f9, 0xa2f983, 0xa2f9836e, 0xf9836e4e, 0x836e4e44, 0x6e4e4415, 0x4e441529, 0x441529fc, 0x1529fc27, 0x29fc2757, 0xfc2757d1, 0x2757d1f5,
  0x57d1f534, 0xd1f534dd, 0xf534ddc0, 0x34ddc0db, 0xddc0db62, 0xc0db6295, 0xdb629599, 0x6295993c, 0x95993c43, 0x993c4390, 0x3c439041,
].map(BigInt);

/** The contracted polynomial pair of the FMA build: every `a + b·c` of sincosf_poly is one fma. */
function sincosPoly(x: number, x2: number, p: SinCosPoly, n: number, out: Float32Array): void {
  const x3 = x * x2;
  const x4 = x2 * x2;
  const s1 = fma64(x2, p.s3, p.s2);
  const c2 = fma64(x2, p.c4, p.c3);
  const x5 = x2 * x3;
  const x6 = x2 * x4;
  const c1 = fma64(x2, p.c1, p.c0);
  const s = fma64(x3, p.s1, x);
  const c = fma64(x4, p.c2, c1);
  const sv = fma64(s1, x5, s);
  const cv = fma64(c2, x6, c);
  out[(n & 1) === 0 ? 0 : 1] = sv;
  out[(n & 1) === 0 ? 1 : 0] = cv;
}

/** out[0] = sinf(y), out[1] = cosf(y) exactly as glibc 2.36's FMA sincosf (y an f32 value). */
export function sincosfGlibc(y: number, out: Float32Array): void {
  const xi = bitsOf(y);
  const top = (xi >>> 20) & 0x7ff;
  const x = fromBits(xi);
  if (top <= 0x3f3) {
    // |y| < π/4
    if (top <= 0x397) {
      out[0] = x;
      out[1] = 1;
      return;
    }
    sincosPoly(x, x * x, SC_POLY[0], 0, out);
  } else if (top <= 0x42e) {
    // |y| < 120: one fused multiply-subtract of n·π/2
    const r = x * HPI_INV;
    const n = ((r | 0) + 0x800000) >> 24;
    const xr = fma64(-n, HPI, x);
    sincosPoly(xr * SC_SIGN[n & 3], xr * xr, SC_POLY[(n & 2) === 0 ? 0 : 1], n, out);
  } else if (top < 0x7f8) {
    // large: 32 × 96-bit fixed-point product with 4/π
    const sign = xi >>> 31;
    const idx = (xi >>> 26) & 15;
    const shift = BigInt((xi >>> 23) & 7);
    const M64 = (1n << 64n) - 1n;
    const m = (BigInt((xi & 0xffffff) | 0x800000) << shift) & 0xffffffffn;
    let res0 = (m * INV_PIO4[idx]) & 0xffffffffn;
    const res1 = m * INV_PIO4[idx + 4];
    const res2 = m * INV_PIO4[idx + 8];
    res0 = ((res2 >> 32n) | (res0 << 32n)) & M64;
    res0 = (res0 + res1) & M64;
    const nb = ((res0 + (1n << 61n)) & M64) >> 62n;
    res0 = (res0 - (nb << 62n)) & M64;
    const xr = Number(BigInt.asIntN(64, res0)) * PI63;
    const n = Number(nb);
    sincosPoly(xr * SC_SIGN[(n + sign) & 3], xr * xr, SC_POLY[((n + sign) & 2) === 0 ? 0 : 1], n, out);
  } else {
    out[0] = out[1] = NaN;
  }
}
