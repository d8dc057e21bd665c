/**
 * Inputs and an independent reference for screenBoundsQ8_0: a float matrix with edge rows and its Q8_0
 * copy from @bitnet/models' encoder (not the kernels'), and the bounds computed straight from the
 * contract in double. Test support only: not part of the published build.
 */
import { dequantize, dequantizeRows, encodeQ8_0Blocks, f16ToF32, GgmlType, quantize } from '@bitnet/models';
import type { FloatMatrix } from '../api/Kernels';

export interface ScreenCase {
  w: FloatMatrix;
  /** w's Q8_0 copy (type Q8_0, same rows and cols). */
  q: FloatMatrix;
}

const abs = Math.abs;
const max = Math.max;
const cache = new Map<string, ScreenCase>();

/** Uniform values in [−1, 1) from a seeded xorshift32 (jest's sandbox makes SeededRandom slow for millions of values). */
function uniforms(n: number, seed: number): Float32Array {
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
 * Random rows of varied scale as `type` (F32, F16 or BF16), cols % 32 == 0, and their Q8_0 copy. Row 0
 * has an all-zero block; row 1 (rows ≥ 2) large and tiny values side by side, and (cols ≥ 64) a block of
 * tiny values only, whose f16 scale rounds to 0 while its quants do not (ŵ = 0 there). Built once per
 * arguments (the same objects again: do not change them).
 */
export function screenCase(type: GgmlType.F32 | GgmlType.F16 | GgmlType.BF16, rows: number, cols: number, seed: number): ScreenCase {
  const key = `${type} ${rows} ${cols} ${seed}`;
  const known = cache.get(key);
  if (known) return known;
  const values = uniforms(rows * cols, seed);
  const scales = uniforms(rows, seed + 1);
  const [large, tiny] = type === GgmlType.F16 ? [6e4, 1e-7] : [5e6, 1e-30];
  for (let n = 0; n < rows; n++) {
    for (let k = 0; k < cols; k++) {
      const onlyTiny = n === 1 && cols >= 64 && k >= 32 && k < 64;
      values[n * cols + k] *= n !== 1 ? 0.01 + 4 * abs(scales[n]) : k % 3 === 0 && !onlyTiny ? large : tiny;
    }
  }
  values.fill(0, 0, 32);
  const data = quantize(type, values, cols);
  const w: FloatMatrix = { type, data, rows, cols };
  const q: FloatMatrix = { type: GgmlType.Q8_0, data: encodeQ8_0Blocks(dequantizeRows(type, data, cols, 0, rows)), rows, cols };
  cache.set(key, { w, q });
  return { w, q };
}

/** The three bounds per row (api/Kernels.ts, screenBoundsQ8_0) before rounding, in double: exact for a matrix's own Q8_0 copy. */
export function refScreenBounds(w: FloatMatrix, q: FloatMatrix): Float64Array {
  const W = dequantize(w.type, w.data, w.rows * w.cols);
  const out = new Float64Array(3 * w.rows);
  const blocks = w.cols / 32;
  const qs = new Int8Array(q.data.buffer, q.data.byteOffset, q.data.length);
  for (let n = 0; n < w.rows; n++) {
    let diff = 0;
    let block = 0;
    let mag = 0;
    for (let b = 0; b < blocks; b++) {
      const p = (n * blocks + b) * 34;
      const d = f16ToF32(q.data[p] | (q.data[p + 1] << 8));
      let sum = 0;
      for (let i = 0; i < 32; i++) {
        const wk = W[n * w.cols + b * 32 + i];
        const wh = d * qs[p + 2 + i];
        diff = max(diff, abs(wk - wh));
        mag = max(mag, abs(wk), abs(wh));
        sum += abs(wh);
      }
      block = max(block, sum);
    }
    out.set([diff, block, mag], 3 * n);
  }
  return out;
}

/** The f32 just below f (f an f32 value; −Infinity below 0). */
export function prevF32(f: number): number {
  if (f <= 0) return -Infinity;
  const a = Float32Array.of(f);
  const u = new Uint32Array(a.buffer);
  u[0] -= 1;
  return a[0];
}
