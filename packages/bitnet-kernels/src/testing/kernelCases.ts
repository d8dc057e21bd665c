/**
 * Seeded random kernel inputs for the reference tests and the native-vs-TypeScript comparisons.
 * Everything is reproducible from (shape, seed). Weights are built with @bitnet/models' quantizers,
 * so they are valid files' bytes; activations contain edge rows (all zero, exact rounding ties,
 * values under the 1e-5 floor, one 256-block all zero, a large outlier); attention caches are f16
 * bits with NaN poison in the slots past the call's last position.
 * Test support only: not part of the published build.
 */
import { f32ToF16, f16ToF32, GgmlType, ggmlTypeTraits, quantize, quantizeTernary, SeededRandom } from '@bitnet/models';
import type { AttentionShape, FloatMatrix, I8Activations, Q8KActivations, TernaryMatrix } from '../api/Kernels';
import { keyIndex, valueIndex } from '../api/KvLayout';

const fround = Math.fround;

export { FLOAT_TYPES, TERNARY_TYPES } from '../api/TensorKernels';

export type TernaryType = TernaryMatrix['type'];
export type FloatType = FloatMatrix['type'];

/** Elements per block of a type (K must be a multiple). */
export function blockSize(type: GgmlType): number {
  return (ggmlTypeTraits(type) as { blockSize: number }).blockSize;
}

export interface MatmulShape {
  /** N: output features (weight rows). */
  rows: number;
  /** K: input features. */
  cols: number;
  /** M: activation rows (tokens). */
  mRows: number;
}

/** Shapes for the ternary kernels: tiny (one block, N = 1, M = 1), odd row counts, 2B4T's K values. */
export function ternaryShapes(type: TernaryType): MatmulShape[] {
  const b = blockSize(type);
  return [
    { rows: 1, cols: b, mRows: 1 },
    { rows: 1, cols: b, mRows: 5 },
    { rows: 7, cols: 3 * b, mRows: 1 },
    { rows: 13, cols: 2 * b, mRows: 6 },
    { rows: 64, cols: 10 * b, mRows: 3 },
    { rows: 1, cols: 6912, mRows: 2 },
    { rows: 37, cols: 2560, mRows: 5 },
  ];
}

/** Shapes for matmulFloat / getRows: block-sized K, odd K for the unblocked types, 2560-wide rows. */
export function floatShapes(type: FloatType): MatmulShape[] {
  const b = blockSize(type);
  const shapes = [
    { rows: 1, cols: b, mRows: 1 },
    { rows: 2, cols: b, mRows: 4 },
    { rows: 7, cols: 3 * b, mRows: 3 },
    { rows: 33, cols: 1024, mRows: 2 },
    { rows: 3, cols: 2560, mRows: 1 },
  ];
  if (b === 1) shapes.push({ rows: 5, cols: 7, mRows: 3 }, { rows: 4, cols: 33, mRows: 2 });
  return shapes;
}

export interface TernaryCase {
  w: TernaryMatrix;
  /** rows × cols trits (−1, 0, +1) the weights were packed from. */
  trits: Int8Array;
  /** Scales as stored: one f32 for I2_S; one f16-rounded value per 256-block for TQ1_0/TQ2_0. */
  scales: Float32Array;
  /** mRows × cols f32 activations (edge rows by index, see activationRows). */
  x: Float32Array;
  mRows: number;
}

/**
 * A ternary matrix of `rows` × `cols` and `mRows` activation rows. Weights are random trits, except
 * (when rows >= 3) the last row is all +1 (the largest code) and the one before all −1. TQ block
 * scales are random f16 values, one of them 0 when there are at least 5 blocks.
 */
export function ternaryCase(type: TernaryType, rows: number, cols: number, mRows: number, seed: number): TernaryCase {
  const rng = new SeededRandom(seed);
  const trits = new Int8Array(rows * cols);
  for (let i = 0; i < trits.length; i++) trits[i] = rng.int(3) - 1;
  if (rows >= 3) {
    trits.fill(1, (rows - 1) * cols);
    trits.fill(-1, (rows - 2) * cols, (rows - 1) * cols);
  }
  let scales: Float32Array;
  if (type === GgmlType.I2_S) {
    scales = Float32Array.of(0.25 + rng.next() * 2);
  } else {
    scales = new Float32Array((rows * cols) / 256);
    for (let b = 0; b < scales.length; b++) scales[b] = f16ToF32(f32ToF16(0.001 + rng.next() * 3));
    if (scales.length >= 5) scales[3] = 0;
  }
  const data = quantizeTernary(type, trits, scales, cols);
  return { w: { type, data, rows, cols }, trits, scales, x: activationRows(mRows, cols, rng), mRows };
}

/**
 * mRows × cols f32 activations. Row m by m % 6: 0 Gaussian; 1 all zero; 2 rounding ties (each
 * 256-block starts with −127 so both quantizers get scale 1, the rest are k + 0.5); 3 values under the
 * 1e-5 floor with the first 256 values zero; 4 Gaussian × 1000 with an outlier; 5 Gaussian × 1e-3.
 */
export function activationRows(mRows: number, cols: number, rng: SeededRandom): Float32Array {
  const x = new Float32Array(mRows * cols);
  for (let m = 0; m < mRows; m++) {
    const o = m * cols;
    const kind = m % 6;
    for (let i = 0; i < cols; i++) {
      const g = rng.normal();
      switch (kind) {
        case 0: x[o + i] = g; break;
        case 1: x[o + i] = 0; break;
        case 2: x[o + i] = i % 256 === 0 ? -127 : rng.int(253) - 126 + 0.5; break;
        case 3: x[o + i] = i < 256 ? 0 : g * 2e-6; break;
        case 4: x[o + i] = i === cols >> 1 ? 9000 : g * 1000; break;
        default: x[o + i] = g * 1e-3;
      }
    }
  }
  return x;
}

/**
 * Raw per-token int8 activations (not from the quantizer): codes over the whole int8 range with
 * −128 and 127 at fixed places, random positive scales, sums consistent with qs.
 */
export function i8ActivationsCase(rows: number, cols: number, seed: number): I8Activations {
  const rng = new SeededRandom(seed);
  const qs = new Int8Array(rows * cols);
  for (let i = 0; i < qs.length; i++) qs[i] = rng.int(256) - 128;
  for (let r = 0; r < rows; r++) {
    qs[r * cols] = -128;
    qs[r * cols + cols - 1] = 127;
  }
  const scales = new Float32Array(rows);
  const sums = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    scales[r] = 1 + rng.next() * 500;
    for (let i = 0; i < cols; i++) sums[r] += qs[r * cols + i];
  }
  return { rows, cols, qs, scales, sums };
}

/**
 * Raw Q8_K activations: codes over the whole int8 range (−128 and 127 present), random block scales,
 * the second block of every row (when there is one) zero-max (d = 0, q = 0), bsums consistent.
 */
export function q8kActivationsCase(rows: number, cols: number, seed: number): Q8KActivations {
  const rng = new SeededRandom(seed);
  const qs = new Int8Array(rows * cols);
  const d = new Float32Array((rows * cols) / 256);
  for (let i = 0; i < qs.length; i++) qs[i] = rng.int(256) - 128;
  for (let b = 0; b < d.length; b++) {
    qs[b * 256] = -128;
    qs[b * 256 + 255] = 127;
    d[b] = Math.fround((rng.next() - 0.5) * 0.1);
  }
  const perRow = cols / 256;
  if (perRow >= 2) {
    for (let r = 0; r < rows; r++) {
      const b = r * perRow + 1;
      d[b] = 0;
      qs.fill(0, b * 256, b * 256 + 256);
    }
  }
  const bsums = new Int16Array((rows * cols) / 16);
  for (let i = 0; i < qs.length; i++) bsums[i >> 4] += qs[i];
  return { rows, cols, qs, d, bsums };
}

export interface FloatCase {
  w: FloatMatrix;
  /** rows × cols f32 values the matrix was quantized from (the matrix holds their rounding). */
  values: Float32Array;
  x: Float32Array;
  mRows: number;
}

/** A float or k-quant matrix quantized with @bitnet/models' codecs from Gaussian rows of varied scale. */
export function floatCase(type: FloatType, rows: number, cols: number, mRows: number, seed: number): FloatCase {
  const rng = new SeededRandom(seed);
  const values = new Float32Array(rows * cols);
  for (let n = 0; n < rows; n++) {
    const scale = 0.01 + rng.next() * 4;
    for (let k = 0; k < cols; k++) values[n * cols + k] = rng.normal() * scale;
  }
  const x = new Float32Array(mRows * cols);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  return { w: { type, data: quantize(type, values, cols), rows, cols }, values, x, mRows };
}

/** P picks over N weight rows and M activation rows: the first and last rows, a repeat, then random (repeats likely). */
export function randomPicks(next: () => number, N: number, M: number, P: number): { wRow: Int32Array; xRow: Int32Array } {
  const wRow = new Int32Array(P);
  const xRow = new Int32Array(P);
  for (let j = 0; j < P; j++) {
    wRow[j] = Math.floor(next() * N);
    xRow[j] = Math.floor(next() * M);
  }
  if (P >= 4) {
    wRow.set([0, N - 1, N - 1, 0]);
    xRow.set([M - 1, 0, M - 1, 0]);
  }
  return { wRow, xRow };
}

/** An attention shape without the derived fields (capacity defaults to startPos + tokens, scale to 1/√headDim). */
export type AttentionCaseShape = Omit<AttentionShape, 'capacity' | 'scale'> & Partial<Pick<AttentionShape, 'capacity' | 'scale'>>;

export const ATTENTION_SHAPES: readonly AttentionCaseShape[] = [
  { tokens: 1, heads: 1, kvHeads: 1, headDim: 1, startPos: 0 },
  { tokens: 1, heads: 4, kvHeads: 2, headDim: 8, startPos: 0, capacity: 3 },
  { tokens: 1, heads: 8, kvHeads: 2, headDim: 64, startPos: 37, capacity: 64 },
  { tokens: 5, heads: 4, kvHeads: 4, headDim: 16, startPos: 0, capacity: 8 },
  { tokens: 7, heads: 6, kvHeads: 3, headDim: 32, startPos: 11, capacity: 20 },
  { tokens: 3, heads: 5, kvHeads: 1, headDim: 3, startPos: 2, capacity: 9 },
  { tokens: 2, heads: 20, kvHeads: 5, headDim: 128, startPos: 100, capacity: 128 },
];

export interface AttentionCase {
  shape: AttentionShape;
  /** tokens × heads × headDim. */
  q: Float32Array;
  /** f16 bits in the KvShape layout (keyIndex / valueIndex); positions >= startPos + tokens hold NaN (0x7e00). */
  kCache: Uint16Array;
  vCache: Uint16Array;
}

/** f16 NaN written in the cache slots no query of the call may read. */
export const CACHE_POISON = 0x7e00;

/** Gaussian q (× `qScale`, default 2, to give peaked and flat score rows) and caches. */
export function attentionCase(s: AttentionCaseShape, seed: number, qScale = 2): AttentionCase {
  const rng = new SeededRandom(seed);
  const shape: AttentionShape = { ...s, capacity: s.capacity ?? s.startPos + s.tokens, scale: s.scale ?? 1 / Math.sqrt(s.headDim) };
  const q = new Float32Array(shape.tokens * shape.heads * shape.headDim);
  for (let i = 0; i < q.length; i++) q[i] = rng.normal() * qScale;
  const size = shape.capacity * shape.kvHeads * shape.headDim;
  const kCache = new Uint16Array(size).fill(CACHE_POISON);
  const vCache = new Uint16Array(size).fill(CACHE_POISON);
  for (let pos = 0; pos < shape.startPos + shape.tokens; pos++)
    for (let h = 0; h < shape.kvHeads; h++)
      for (let d = 0; d < shape.headDim; d++) {
        kCache[keyIndex(shape, h, pos, d)] = f32ToF16(rng.normal());
        vCache[valueIndex(shape, h, pos, d)] = f32ToF16(rng.normal());
      }
  return { shape, q, kCache, vCache };
}

/** n Gaussian f32 values × scale. */
export function randomF32(n: number, seed: number, scale = 1): Float32Array {
  const rng = new SeededRandom(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal() * scale;
  return v;
}

// ---- raw inputs driven by a uniform generator `next` (rng of @bitnet/models/testing) ----------------
// Bytes and codes straight into the file layouts, without the quantizers: every code pattern ('valid'
// trits, the largest code everywhere, or 'any' byte, stray code 3 included) and extreme activations.

export const int = (next: () => number, n: number) => Math.floor(next() * n);

export function randomFloats(next: () => number, n: number, scale = 2): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (next() - 0.5) * 2 * scale;
  return x;
}

/** A random finite f16 with a moderate exponent (|v| ~ 2^-6 .. 2^2), as little-endian bytes at p. */
export function putF16(data: Uint8Array, p: number, next: () => number): void {
  const h = ((int(next, 2) << 15) | ((9 + int(next, 8)) << 10) | int(next, 1024)) & 0xffff;
  data[p] = h & 0xff;
  data[p + 1] = h >> 8;
}

export type CodeMode = 'valid' | 'any' | 'max';
export function codeByte(next: () => number, codes: CodeMode): number {
  if (codes === 'any') return int(next, 256);
  let b = 0;
  for (let f = 0; f < 4; f++) b |= (codes === 'max' ? 2 : int(next, 3)) << (2 * f);
  return b;
}

export function makeI2S(next: () => number, N: number, K: number, codes: CodeMode = 'valid'): TernaryMatrix {
  const packed = (N * K) / 4;
  const data = new Uint8Array(packed + 32);
  for (let i = 0; i < packed; i++) data[i] = codeByte(next, codes);
  new DataView(data.buffer).setFloat32(packed, fround(0.25 + next()), true);
  return { type: GgmlType.I2_S, data, rows: N, cols: K };
}

export function makeTQ2(next: () => number, N: number, K: number, codes: CodeMode = 'valid'): TernaryMatrix {
  const blocks = (N * K) / 256;
  const data = new Uint8Array(blocks * 66);
  for (let b = 0; b < blocks; b++) {
    for (let j = 0; j < 64; j++) data[b * 66 + j] = codeByte(next, codes);
    putF16(data, b * 66 + 64, next);
  }
  return { type: GgmlType.TQ2_0, data, rows: N, cols: K };
}

export function makeTQ1(next: () => number, N: number, K: number, codes: CodeMode = 'valid'): TernaryMatrix {
  const blocks = (N * K) / 256;
  const data = new Uint8Array(blocks * 54);
  for (let b = 0; b < blocks; b++) {
    // 'max': every trit 2 (v = 242 → ceil(242·256/243) = 255); otherwise any byte (all decode to trits)
    for (let j = 0; j < 52; j++) data[b * 54 + j] = codes === 'max' ? 255 : int(next, 256);
    putF16(data, b * 54 + 52, next);
  }
  return { type: GgmlType.TQ1_0, data, rows: N, cols: K };
}

export type ActMode = 'random' | 'extreme' | 'zero-rows';
export function makeI8(next: () => number, M: number, K: number, how: ActMode): I8Activations {
  const qs = new Int8Array(M * K);
  const scales = new Float32Array(M);
  const sums = new Int32Array(M);
  for (let m = 0; m < M; m++) {
    let s = 0;
    for (let k = 0; k < K; k++) {
      const v = how === 'extreme' ? (next() < 0.5 ? -128 : 127) : how === 'zero-rows' && m % 2 === 0 ? 0 : int(next, 256) - 128;
      qs[m * K + k] = v;
      s += v;
    }
    sums[m] = s;
    scales[m] = fround(1 + next() * 100);
  }
  return { rows: M, cols: K, qs, scales, sums };
}

export function makeQ8K(next: () => number, M: number, K: number, how: ActMode): Q8KActivations {
  const i8 = makeI8(next, M, K, how);
  const d = new Float32Array((M * K) / 256);
  for (let i = 0; i < d.length; i++) d[i] = fround((next() - 0.5) * 0.05);
  const bsums = new Int16Array((M * K) / 16);
  for (let g = 0; g < bsums.length; g++) {
    let s = 0;
    for (let j = 0; j < 16; j++) s += i8.qs[g * 16 + j];
    bsums[g] = s;
  }
  return { rows: M, cols: K, qs: i8.qs, d, bsums };
}

/** A Q8_0 matrix with random f16 scales and int8 quants over the whole range (−128 included). */
export function makeQ8_0(next: () => number, N: number, K: number): FloatMatrix {
  const blocks = (N * K) / 32;
  const data = new Uint8Array(blocks * 34);
  for (let b = 0; b < blocks; b++) {
    putF16(data, b * 34, next);
    for (let j = 0; j < 32; j++) data[b * 34 + 2 + j] = int(next, 256);
  }
  return { type: GgmlType.Q8_0, data, rows: N, cols: K };
}

/** The error `fn` throws (as E; N-API errors come from Node's realm, not jest's: compare names, not classes); fails when it returns. */
export function thrown<E extends Error = Error>(fn: () => unknown): E {
  try {
    fn();
  } catch (e) {
    return e as E;
  }
  throw new Error('expected a throw');
}
