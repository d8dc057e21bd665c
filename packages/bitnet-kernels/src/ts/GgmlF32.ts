/**
 * f32 arithmetic of ggml's x86 CPU backend (llama.cpp as bundled in node-llama-cpp 3.22.1, the
 * `haswell` variant: AVX2 + FMA + F16C), emulated exactly in JavaScript doubles. Shared by the
 * TypeScript kernels; the native portable kernels (native/src/kernels_portable.inl) implement the same
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
