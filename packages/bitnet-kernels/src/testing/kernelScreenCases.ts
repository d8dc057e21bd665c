/**
 * Inputs for the screened output's kernels (matmulI8rI8, encodeI8rRows, screenBoundsI8r,
 * screenCandidates): float matrices with edge rows, I8r matrices of chosen codes, and the exact
 * squared norms screenBoundsI8r bounds (BigInt on the values scaled to integers), independent of any
 * kernel. Test support only: not part of the published build.
 */
import { dequantize, GgmlType, quantize } from '@bitnet/models';
import type { FloatMatrix, I8Activations, I8rMatrix } from '../api/Kernels';

const abs = Math.abs;
const cache = new Map<string, FloatMatrix>();

/** Uniform values in [−1, 1) from a seeded xorshift32 (jest's sandbox makes SeededRandom slow for millions of values). */
export function uniforms(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761 + 12345) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) / 2147483648 - 1;
  }
  return out;
}

/**
 * Random rows of varied scale as `type` (F32, F16 or BF16), cols % 32 == 0, with edge rows (when
 * there are enough): row 0 all zero; row 1 large and tiny values side by side; row 2 ties, ±(j + ½)
 * with amax 127 (d = 1, so w · id lands on halves); row 3 subnormal values and zeros (d subnormal or
 * 0, 1/d may overflow to Infinity: 0 · Infinity codes). Built once per arguments (do not change them).
 */
export function i8rSourceCase(type: GgmlType.F32 | GgmlType.F16 | GgmlType.BF16, rows: number, cols: number, seed: number): FloatMatrix {
  const key = `${type} ${rows} ${cols} ${seed}`;
  const known = cache.get(key);
  if (known) return known;
  const values = uniforms(rows * cols, seed);
  const scales = uniforms(rows, seed + 1);
  const [large, tiny, sub] = type === GgmlType.F16 ? [6e4, 1e-4, 3e-7] : [5e6, 1e-30, 3e-39];
  for (let n = 0; n < rows; n++) {
    for (let k = 0; k < cols; k++) {
      const i = n * cols + k;
      if (n === 0) values[i] = 0;
      else if (n === 1) values[i] *= k % 3 === 0 ? large : tiny;
      else if (n === 2) values[i] = k === 0 ? 127 : k === 1 ? -127 : (values[i] < 0 ? -1 : 1) * ((k % 126) + 0.5);
      else if (n === 3) values[i] = k % 4 === 0 ? 0 : values[i] * sub;
      else values[i] *= 0.01 + 4 * abs(scales[n]);
    }
  }
  const w: FloatMatrix = { type, data: quantize(type, values, cols), rows, cols };
  cache.set(key, w);
  return w;
}

/** An I8r matrix of `rows` × `cols` with codes from `code(n, k)` and scales from `scale(n)`. */
export function makeI8r(rows: number, cols: number, code: (n: number, k: number) => number, scale: (n: number) => number): I8rMatrix {
  const codes = new Uint8Array(rows * cols);
  for (let n = 0; n < rows; n++) for (let k = 0; k < cols; k++) codes[n * cols + k] = code(n, k);
  return { rows, cols, codes, scales: Float32Array.from({ length: rows }, (_, n) => scale(n)) };
}

/** An empty I8r matrix of w's shape (for encodeI8rRows' output). */
export const emptyI8r = (w: { rows: number; cols: number }): I8rMatrix => ({ rows: w.rows, cols: w.cols, codes: new Uint8Array(w.rows * w.cols), scales: new Float32Array(w.rows) });

/** Per-token int8 activations with given values (sums the exact Σq unless `sums` is given). */
export function makeActs(M: number, K: number, value: (m: number, k: number) => number, scale: (m: number) => number, sums?: (m: number, exact: number) => number): I8Activations {
  const qs = new Int8Array(M * K);
  const out: I8Activations = { rows: M, cols: K, qs, scales: new Float32Array(M), sums: new Int32Array(M) };
  for (let m = 0; m < M; m++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += qs[m * K + k] = value(m, k);
    out.scales[m] = scale(m);
    out.sums[m] = sums ? sums(m, s) : s;
  }
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** A finite f32 value times 2^149, as an exact integer (every f32 is a multiple of 2^−149). */
export function scaledF32(v: number): bigint {
  f32[0] = v;
  const bits = u32[0];
  const e = (bits >>> 23) & 0xff;
  const m = bits & 0x7fffff;
  const mag = e === 0 ? BigInt(m) : BigInt(m | 0x800000) << BigInt(e - 1);
  return bits >>> 31 ? -mag : mag;
}

/**
 * The exact squared norms screenBoundsI8r bounds, per row: [Σ (w − ŵ)², Σ ŵ²] times 2^298 (integers),
 * with ŵ = (c − 128) · scale exactly. Finite values only.
 */
export function exactSquaredNorms(w: FloatMatrix, q: I8rMatrix): Array<[bigint, bigint]> {
  const W = dequantize(w.type, w.data, w.rows * w.cols);
  const out: Array<[bigint, bigint]> = [];
  for (let n = 0; n < w.rows; n++) {
    const s = scaledF32(q.scales[n]);
    let e2 = 0n;
    let v2 = 0n;
    for (let k = 0; k < w.cols; k++) {
      const wh = BigInt(q.codes[n * w.cols + k] - 128) * s;
      const e = scaledF32(W[n * w.cols + k]) - wh;
      e2 += e * e;
      v2 += wh * wh;
    }
    out.push([e2, v2]);
  }
  return out;
}
