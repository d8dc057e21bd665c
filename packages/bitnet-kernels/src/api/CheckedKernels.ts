/**
 * Wraps any Kernels implementation (TypeScript or native) and validates every argument before the
 * call, so that the implementation behind it can trust sizes, lengths and types: sizes are integers
 * > 0, K is a whole number of the type's blocks, matrix data is exactly the tensor's byte size, every
 * array has exactly the length the sizes imply, ids are in range, attention and RoPE shapes are
 * consistent, and outputs do not overlap inputs (element-wise kernels and rmsNorm may write in place
 * into the very same array). A violation throws KernelArgumentError naming the kernel and argument.
 */
import { GgmlType } from '@bitnet/models';
import {
  checkArray,
  checkFinite,
  checkI8Activations,
  checkMatrix,
  checkNoOverlap,
  checkQ8_0Activations,
  checkQ8KActivations,
  checkSize,
  fail,
  FLOAT_TYPES,
  TERNARY_TYPES,
} from './argumentChecks';
import type { AttentionShape, FloatMatrix, I8Activations, Kernels, Q8_0Activations, Q8KActivations, TernaryMatrix } from './Kernels';

const ALL_TYPES = [...FLOAT_TYPES, ...TERNARY_TYPES];

export class CheckedKernels implements Kernels {
  constructor(readonly inner: Kernels) {}

  get name(): 'native' | 'ts' {
    return this.inner.name;
  }

  get isa(): string {
    return this.inner.isa;
  }

  get threads(): number {
    return this.inner.threads;
  }

  quantizeI8PerToken(x: Float32Array, rows: number, cols: number, out: I8Activations): void {
    const k = 'quantizeI8PerToken';
    checkSize(k, 'rows', rows);
    checkSize(k, 'cols', cols);
    checkArray(k, 'x', x, 'Float32Array', rows * cols);
    checkI8Activations(k, 'out', out, rows, cols);
    checkNoOverlap(k, 'out.qs', out.qs, 'x', x);
    checkNoOverlap(k, 'out.scales', out.scales, 'x', x);
    checkNoOverlap(k, 'out.sums', out.sums, 'x', x);
    this.inner.quantizeI8PerToken(x, rows, cols, out);
  }

  quantizeQ8K(x: Float32Array, rows: number, cols: number, out: Q8KActivations): void {
    const k = 'quantizeQ8K';
    checkSize(k, 'rows', rows);
    checkSize(k, 'cols', cols);
    if (cols % 256 !== 0) fail(k, 'cols', `${cols} is not a multiple of the Q8_K block size 256`);
    checkArray(k, 'x', x, 'Float32Array', rows * cols);
    checkQ8KActivations(k, 'out', out, rows, cols);
    checkNoOverlap(k, 'out.qs', out.qs, 'x', x);
    checkNoOverlap(k, 'out.d', out.d, 'x', x);
    checkNoOverlap(k, 'out.bsums', out.bsums, 'x', x);
    this.inner.quantizeQ8K(x, rows, cols, out);
  }

  quantizeQ8_0(x: Float32Array, rows: number, cols: number, out: Q8_0Activations): void {
    const k = 'quantizeQ8_0';
    checkSize(k, 'rows', rows);
    checkSize(k, 'cols', cols);
    if (cols % 32 !== 0) fail(k, 'cols', `${cols} is not a multiple of the Q8_0 block size 32`);
    checkArray(k, 'x', x, 'Float32Array', rows * cols);
    checkQ8_0Activations(k, 'out', out, rows, cols);
    checkNoOverlap(k, 'out.qs', out.qs, 'x', x);
    checkNoOverlap(k, 'out.d', out.d, 'x', x);
    this.inner.quantizeQ8_0(x, rows, cols, out);
  }

  matmulI2sI8(w: TernaryMatrix, a: I8Activations, out: Float32Array): void {
    const k = 'matmulI2sI8';
    checkMatrix(k, 'w', w, [GgmlType.I2_S]);
    checkI8Activations(k, 'a', a, undefined, w.cols);
    checkArray(k, 'out', out, 'Float32Array', a.rows * w.rows);
    checkNoOverlap(k, 'out', out, 'w.data', w.data);
    checkNoOverlap(k, 'out', out, 'a.qs', a.qs);
    checkNoOverlap(k, 'out', out, 'a.scales', a.scales);
    checkNoOverlap(k, 'out', out, 'a.sums', a.sums);
    this.inner.matmulI2sI8(w, a, out);
  }

  matmulTq2_0Q8K(w: TernaryMatrix, a: Q8KActivations, out: Float32Array): void {
    this.checkTq('matmulTq2_0Q8K', GgmlType.TQ2_0, w, a, out);
    this.inner.matmulTq2_0Q8K(w, a, out);
  }

  matmulTq1_0Q8K(w: TernaryMatrix, a: Q8KActivations, out: Float32Array): void {
    this.checkTq('matmulTq1_0Q8K', GgmlType.TQ1_0, w, a, out);
    this.inner.matmulTq1_0Q8K(w, a, out);
  }

  private checkTq(k: string, type: GgmlType, w: TernaryMatrix, a: Q8KActivations, out: Float32Array): void {
    checkMatrix(k, 'w', w, [type]);
    checkQ8KActivations(k, 'a', a, undefined, w.cols);
    checkArray(k, 'out', out, 'Float32Array', a.rows * w.rows);
    checkNoOverlap(k, 'out', out, 'w.data', w.data);
    checkNoOverlap(k, 'out', out, 'a.qs', a.qs);
    checkNoOverlap(k, 'out', out, 'a.d', a.d);
    checkNoOverlap(k, 'out', out, 'a.bsums', a.bsums);
  }

  matmulQ8_0Q8_0(w: FloatMatrix, a: Q8_0Activations, out: Float32Array): void {
    const k = 'matmulQ8_0Q8_0';
    checkMatrix(k, 'w', w, [GgmlType.Q8_0]);
    checkQ8_0Activations(k, 'a', a, undefined, w.cols);
    checkArray(k, 'out', out, 'Float32Array', a.rows * w.rows);
    checkNoOverlap(k, 'out', out, 'w.data', w.data);
    checkNoOverlap(k, 'out', out, 'a.qs', a.qs);
    checkNoOverlap(k, 'out', out, 'a.d', a.d);
    this.inner.matmulQ8_0Q8_0(w, a, out);
  }

  matmulFloat(w: FloatMatrix, x: Float32Array, xRows: number, out: Float32Array): void {
    const k = 'matmulFloat';
    checkMatrix(k, 'w', w, FLOAT_TYPES);
    checkSize(k, 'xRows', xRows);
    checkArray(k, 'x', x, 'Float32Array', xRows * w.cols);
    checkArray(k, 'out', out, 'Float32Array', xRows * w.rows);
    checkNoOverlap(k, 'out', out, 'x', x);
    checkNoOverlap(k, 'out', out, 'w.data', w.data);
    this.inner.matmulFloat(w, x, xRows, out);
  }

  getRows(w: FloatMatrix | TernaryMatrix, ids: Int32Array, out: Float32Array): void {
    const k = 'getRows';
    checkMatrix(k, 'w', w, ALL_TYPES);
    checkArray(k, 'ids', ids, 'Int32Array');
    checkSize(k, 'ids.length', ids.length);
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= w.rows) fail(k, `ids[${i}]`, `is ${ids[i]}, outside the matrix's rows 0..${w.rows - 1}`);
    }
    checkArray(k, 'out', out, 'Float32Array', ids.length * w.cols);
    checkNoOverlap(k, 'out', out, 'w.data', w.data);
    checkNoOverlap(k, 'out', out, 'ids', ids);
    this.inner.getRows(w, ids, out);
  }

  rmsNorm(x: Float32Array, rows: number, cols: number, weight: Float32Array, eps: number, out: Float32Array): void {
    const k = 'rmsNorm';
    checkSize(k, 'rows', rows);
    checkSize(k, 'cols', cols);
    checkArray(k, 'x', x, 'Float32Array', rows * cols);
    checkArray(k, 'weight', weight, 'Float32Array', cols);
    checkFinite(k, 'eps', eps, 0);
    checkArray(k, 'out', out, 'Float32Array', rows * cols);
    checkNoOverlap(k, 'out', out, 'x', x, true);
    checkNoOverlap(k, 'out', out, 'weight', weight);
    this.inner.rmsNorm(x, rows, cols, weight, eps, out);
  }

  ropeNeox(x: Float32Array, tokens: number, heads: number, headDim: number, ropeDim: number, positions: Int32Array, freqBase: number): void {
    const k = 'ropeNeox';
    checkSize(k, 'tokens', tokens);
    checkSize(k, 'heads', heads);
    checkSize(k, 'headDim', headDim);
    checkSize(k, 'ropeDim', ropeDim, 2);
    if (ropeDim % 2 !== 0) fail(k, 'ropeDim', `${ropeDim} is odd; NEOX RoPE rotates pairs`);
    if (ropeDim > headDim) fail(k, 'ropeDim', `${ropeDim} is larger than headDim ${headDim}`);
    checkArray(k, 'x', x, 'Float32Array', tokens * heads * headDim);
    checkArray(k, 'positions', positions, 'Int32Array', tokens);
    for (let t = 0; t < tokens; t++) {
      if (positions[t] < 0) fail(k, `positions[${t}]`, `is ${positions[t]}, positions are >= 0`);
    }
    checkFinite(k, 'freqBase', freqBase, 0, false);
    checkNoOverlap(k, 'x', x, 'positions', positions);
    this.inner.ropeNeox(x, tokens, heads, headDim, ropeDim, positions, freqBase);
  }

  softmax(x: Float32Array, rows: number, cols: number): void {
    const k = 'softmax';
    checkSize(k, 'rows', rows);
    checkSize(k, 'cols', cols);
    checkArray(k, 'x', x, 'Float32Array', rows * cols);
    this.inner.softmax(x, rows, cols);
  }

  attention(q: Float32Array, kCache: Uint16Array, vCache: Uint16Array, shape: AttentionShape, out: Float32Array): void {
    const k = 'attention';
    if (typeof shape !== 'object' || shape === null) fail(k, 'shape', `must be an AttentionShape object, got ${String(shape)}`);
    const tokens = checkSize(k, 'shape.tokens', shape.tokens);
    const heads = checkSize(k, 'shape.heads', shape.heads);
    const kvHeads = checkSize(k, 'shape.kvHeads', shape.kvHeads);
    const headDim = checkSize(k, 'shape.headDim', shape.headDim);
    const startPos = checkSize(k, 'shape.startPos', shape.startPos, 0);
    const capacity = checkSize(k, 'shape.capacity', shape.capacity);
    if (heads % kvHeads !== 0) fail(k, 'shape.kvHeads', `${kvHeads} does not divide shape.heads ${heads}`);
    if (startPos + tokens > capacity) {
      fail(k, 'shape.capacity', `${capacity} is less than shape.startPos + shape.tokens = ${startPos} + ${tokens}`);
    }
    checkFinite(k, 'shape.scale', shape.scale);
    const qLength = tokens * heads * headDim;
    const cacheLength = capacity * kvHeads * headDim;
    checkArray(k, 'q', q, 'Float32Array', qLength);
    checkArray(k, 'kCache', kCache, 'Uint16Array', cacheLength);
    checkArray(k, 'vCache', vCache, 'Uint16Array', cacheLength);
    checkArray(k, 'out', out, 'Float32Array', qLength);
    checkNoOverlap(k, 'out', out, 'q', q);
    checkNoOverlap(k, 'out', out, 'kCache', kCache);
    checkNoOverlap(k, 'out', out, 'vCache', vCache);
    this.inner.attention(q, kCache, vCache, shape, out);
  }

  reluSqrMul(gate: Float32Array, up: Float32Array, out: Float32Array): void {
    this.checkElementwise('reluSqrMul', 'gate', gate, 'up', up, out);
    this.inner.reluSqrMul(gate, up, out);
  }

  siluMul(gate: Float32Array, up: Float32Array, out: Float32Array): void {
    this.checkElementwise('siluMul', 'gate', gate, 'up', up, out);
    this.inner.siluMul(gate, up, out);
  }

  add(a: Float32Array, b: Float32Array, out: Float32Array): void {
    this.checkElementwise('add', 'a', a, 'b', b, out);
    this.inner.add(a, b, out);
  }

  scale(x: Float32Array, s: number, out: Float32Array): void {
    checkArray('scale', 'x', x, 'Float32Array');
    checkSize('scale', 'x.length', x.length);
    checkFinite('scale', 's', s);
    checkArray('scale', 'out', out, 'Float32Array', x.length);
    checkNoOverlap('scale', 'out', out, 'x', x, true);
    this.inner.scale(x, s, out);
  }

  repackTq1_0AsTq2_0(src: Uint8Array, dst: Uint8Array): void {
    const k = 'repackTq1_0AsTq2_0';
    checkArray(k, 'dst', dst, 'Uint8Array');
    if (dst.length % 66 !== 0) fail(k, 'dst', `length ${dst.length} is not a whole number of 66-byte TQ2_0 blocks`);
    checkArray(k, 'src', src, 'Uint8Array');
    const need = (dst.length / 66) * 54;
    if (src.length < need) fail(k, 'src', `holds ${src.length} bytes; ${dst.length / 66} TQ1_0 blocks need ${need}`);
    checkNoOverlap(k, 'dst', dst, 'src', src);
    this.inner.repackTq1_0AsTq2_0(src, dst);
  }

  encodeQ8_0Blocks(x: Float32Array, out: Uint8Array): void {
    const k = 'encodeQ8_0Blocks';
    checkArray(k, 'x', x, 'Float32Array');
    checkSize(k, 'x.length', x.length);
    if (x.length % 32 !== 0) fail(k, 'x', `length ${x.length} is not a multiple of 32`);
    checkArray(k, 'out', out, 'Uint8Array', (x.length / 32) * 34);
    checkNoOverlap(k, 'out', out, 'x', x);
    this.inner.encodeQ8_0Blocks(x, out);
  }

  toF16(x: Float32Array, out: Uint16Array): void {
    checkArray('toF16', 'x', x, 'Float32Array');
    checkSize('toF16', 'x.length', x.length);
    checkArray('toF16', 'out', out, 'Uint16Array', x.length);
    checkNoOverlap('toF16', 'out', out, 'x', x);
    this.inner.toF16(x, out);
  }

  private checkElementwise(k: string, aName: string, a: Float32Array, bName: string, b: Float32Array, out: Float32Array): void {
    checkArray(k, aName, a, 'Float32Array');
    checkSize(k, `${aName}.length`, a.length);
    checkArray(k, bName, b, 'Float32Array', a.length);
    checkArray(k, 'out', out, 'Float32Array', a.length);
    checkNoOverlap(k, 'out', out, aName, a, true);
    checkNoOverlap(k, 'out', out, bName, b, true);
  }
}
