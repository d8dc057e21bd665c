/**
 * Activation quantization to int8, the int side of the ternary dot products (see api/Kernels.ts):
 * - per token for I2_S (bitnet.cpp's quantize_row_i8_s): one scale and one Σq per row;
 * - Q8_K blocks of 256 for TQ1_0 / TQ2_0 (llama.cpp's quantize_row_q8_K_ref): a scale per block and
 *   the sum of every 16 quants.
 * - Q8_0 blocks of 32 for Q8_0 weights (llama.cpp's x86 quantize_row_q8_0): an f16 scale per block.
 * All round with nearestInt (ties to even), every f32 operation rounded with Math.fround.
 */
import { f16ToF32, f32ToF16 } from '@bitnet/models';
import type { I8Activations, Q8_0Activations, Q8KActivations } from '../api/Kernels';

const fround = Math.fround;

/** 1.5 · 2^23: adding it to an f32 of magnitude < 2^22 leaves the rounded integer in the low mantissa bits. */
const NEAREST_INT_MAGIC = 12582912;

/**
 * ggml's nearest_int: the integer nearest to the f32 value `v`, ties to even, for |v| < 2^22.
 * (fround of the double sum is the f32 sum: double rounding is innocuous for f32 operands.)
 */
export function nearestInt(v: number): number {
  return fround(v + NEAREST_INT_MAGIC) - NEAREST_INT_MAGIC;
}

/** C's roundf: nearest integer, halves away from zero (not used by the kernels; kept for callers). */
export function roundHalfAwayFromZero(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

/** x: rows × cols → per-token int8 with scales and sums (I8Activations). */
export function quantizeI8PerToken(x: Float32Array, rows: number, cols: number, out: I8Activations): void {
  const qs = out.qs;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let amax = 0;
    for (let i = 0; i < cols; i++) {
      const a = Math.abs(x[o + i]);
      if (a > amax) amax = a;
    }
    const s = fround(127 / Math.max(1e-5, amax));
    let sum = 0;
    for (let i = 0; i < cols; i++) {
      let v = nearestInt(fround(x[o + i] * s));
      if (v > 127) v = 127;
      else if (v < -128) v = -128;
      qs[o + i] = v;
      sum += v;
    }
    out.scales[r] = s;
    out.sums[r] = sum;
  }
}

/**
 * Single-row convenience: quantizes x per token into `out`, returns the scale s, so that the float
 * result of an integer dot product is (Σ q·w) / s · weightScale. Same rounding as quantizeI8PerToken.
 */
export function quantizeActivationsPerToken(x: Float32Array, out: Int8Array): number {
  if (out.length < x.length) throw new RangeError(`output holds ${out.length} values, input has ${x.length}`);
  const act: I8Activations = {
    rows: 1,
    cols: x.length,
    qs: out.length === x.length ? out : out.subarray(0, x.length),
    scales: new Float32Array(1),
    sums: new Int32Array(1),
  };
  quantizeI8PerToken(x, 1, x.length, act);
  return act.scales[0];
}

const QK = 256;

/** x: rows × cols (cols % 256 == 0) → Q8_K blocks (Q8KActivations). */
export function quantizeQ8K(x: Float32Array, rows: number, cols: number, out: Q8KActivations): void {
  const { qs, d, bsums } = out;
  const blocks = (rows * cols) / QK; // rows are whole blocks, so blocks run straight through all rows
  for (let b = 0; b < blocks; b++) {
    const o = b * QK;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = x[o + j];
      const a = Math.abs(v);
      if (a > amax) {
        amax = a;
        max = v;
      }
    }
    if (amax === 0) {
      d[b] = 0;
      qs.fill(0, o, o + QK);
      bsums.fill(0, b * 16, b * 16 + 16);
      continue;
    }
    const iscale = fround(-127 / max);
    for (let g = 0; g < 16; g++) {
      let sum = 0;
      for (let j = o + 16 * g; j < o + 16 * g + 16; j++) {
        const v = Math.min(127, nearestInt(fround(iscale * x[j])));
        qs[j] = v;
        sum += v;
      }
      bsums[b * 16 + g] = sum;
    }
    d[b] = fround(1 / iscale);
  }
}

const QK8_0 = 32;

/** x: rows × cols (cols % 32 == 0) → Q8_0 blocks (Q8_0Activations): d = f16(amax / 127), q = nearestInt(x · 127 / amax). */
export function quantizeQ8_0(x: Float32Array, rows: number, cols: number, out: Q8_0Activations): void {
  const { qs, d } = out;
  const blocks = (rows * cols) / QK8_0; // rows are whole blocks
  for (let b = 0; b < blocks; b++) {
    const o = b * QK8_0;
    let amax = 0;
    for (let j = o; j < o + QK8_0; j++) {
      const a = Math.abs(x[j]);
      if (a > amax) amax = a;
    }
    d[b] = f16ToF32(f32ToF16(fround(amax / 127)));
    const id = amax > 0 ? fround(127 / amax) : 0;
    for (let j = o; j < o + QK8_0; j++) qs[j] = nearestInt(fround(x[j] * id));
  }
}
