/**
 * Wraps any Kernels implementation (TypeScript or native) and validates every argument before the
 * call against the shape table (argumentShapes.ts), so that the implementation behind it can trust
 * sizes, lengths and types: sizes are integers > 0, K is a whole number of the type's blocks, matrix
 * data is exactly the tensor's byte size, every array has exactly the length the sizes imply, ids
 * are in range, attention and RoPE shapes are consistent, and outputs do not overlap inputs
 * (element-wise kernels and rmsNorm may write in place into the very same array). A violation
 * throws KernelArgumentError naming the kernel and argument.
 */
import { checkNoOverlap, fail } from './argumentChecks';
import { checkKernelArgs } from './checkKernelArgs';
import { KernelArgumentError } from './KernelArgumentError';
import { TERNARY_TYPES, tensorKernel } from './TensorKernels';
import type { KernelName } from './argumentShapes';
import type { AttentionCall, AttentionShape, FloatMatrix, I8Activations, I8rMatrix, Kernels, KvShape, Q8_0Activations, Q8KActivations, TernaryMatrix } from './Kernels';
import { describeValue } from '@bitnet/models';

/** matmulTernaryMany's bound on matrices per call (the native binding's too). */
const MAX_MANY = 64;
/** attentionMany's bound on calls (the native binding's too). */
const MAX_ATTENTION_CALLS = 1024;

/** One part of a *Many call checked as its single `kernel` call, a violation reported as `fn`'s argument `prefix` + the single call's. */
function checkPart(fn: string, prefix: string, kernel: KernelName, args: Record<string, unknown>): void {
  try {
    checkKernelArgs(kernel, args);
  } catch (e) {
    if (e instanceof KernelArgumentError) fail(fn, `${prefix}${e.argument}`, e.message.slice(`${e.kernel}: ${e.argument} `.length));
    throw e;
  }
}

/** attentionMany: call j's stores against every array another call (or itself) reads or writes meanwhile. */
function checkStoreOverlaps(fn: string, calls: readonly AttentionCall[], j: number): void {
  const c = calls[j];
  calls.forEach((o, i) => {
    for (const [name, w] of [['kCache', c.kCache], ['vCache', c.vCache]] as const) {
      checkNoOverlap(fn, `calls[${j}].${name}`, w, `calls[${i}].q`, o.q);
      checkNoOverlap(fn, `calls[${j}].${name}`, w, `calls[${i}].out`, o.out);
      if (o.store) {
        checkNoOverlap(fn, `calls[${j}].${name}`, w, `calls[${i}].store.k`, o.store.k);
        checkNoOverlap(fn, `calls[${j}].${name}`, w, `calls[${i}].store.v`, o.store.v);
      }
    }
    if (i !== j) {
      checkNoOverlap(fn, `calls[${i}].out`, o.out, `calls[${j}].store.k`, c.store!.k);
      checkNoOverlap(fn, `calls[${i}].out`, o.out, `calls[${j}].store.v`, c.store!.v);
    }
  });
}

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
    checkKernelArgs('quantizeI8PerToken', { x, rows, cols, out });
    this.inner.quantizeI8PerToken(x, rows, cols, out);
  }

  quantizeQ8K(x: Float32Array, rows: number, cols: number, out: Q8KActivations): void {
    checkKernelArgs('quantizeQ8K', { x, rows, cols, out });
    this.inner.quantizeQ8K(x, rows, cols, out);
  }

  quantizeQ8_0(x: Float32Array, rows: number, cols: number, out: Q8_0Activations): void {
    checkKernelArgs('quantizeQ8_0', { x, rows, cols, out });
    this.inner.quantizeQ8_0(x, rows, cols, out);
  }

  matmulI2sI8(w: TernaryMatrix, a: I8Activations, out: Float32Array, scale?: number): void {
    checkKernelArgs('matmulI2sI8', { w, a, out, scale });
    this.inner.matmulI2sI8(w, a, out, scale);
  }

  matmulTq2_0Q8K(w: TernaryMatrix, a: Q8KActivations, out: Float32Array, scale?: number): void {
    checkKernelArgs('matmulTq2_0Q8K', { w, a, out, scale });
    this.inner.matmulTq2_0Q8K(w, a, out, scale);
  }

  matmulTq1_0Q8K(w: TernaryMatrix, a: Q8KActivations, out: Float32Array, scale?: number): void {
    checkKernelArgs('matmulTq1_0Q8K', { w, a, out, scale });
    this.inner.matmulTq1_0Q8K(w, a, out, scale);
  }

  matmulTernaryMany(ws: readonly TernaryMatrix[], a: I8Activations | Q8KActivations, outs: readonly Float32Array[], scales?: readonly number[]): void {
    const fn = 'matmulTernaryMany';
    if (!Array.isArray(ws) || ws.length === 0) fail(fn, 'ws', 'must be a non-empty array of ternary matrices');
    if (ws.length > MAX_MANY) fail(fn, 'ws', `holds ${ws.length} matrices, at most ${MAX_MANY}`);
    if (!Array.isArray(outs) || outs.length !== ws.length) fail(fn, 'outs', `must be an array of ${ws.length} outputs, one per matrix`);
    if (scales !== undefined && (!Array.isArray(scales) || scales.length !== ws.length)) fail(fn, 'scales', `must be absent or an array of ${ws.length} numbers`);
    const type = ws[0]?.type;
    if (!TERNARY_TYPES.includes(type)) fail(fn, 'ws[0].type', `must be a ternary type (${TERNARY_TYPES.join(', ')}), got ${describeValue(type)}`);
    const kernel = tensorKernel(type).kernel as 'matmulI2sI8' | 'matmulTq2_0Q8K' | 'matmulTq1_0Q8K';
    ws.forEach((w, j) => {
      if (w?.type !== type) fail(fn, `ws[${j}].type`, `is ${String(w?.type)}, ws[0]'s is ${type}: one type per call`);
      checkPart(fn, `[${j}] `, kernel, { w, a, out: outs[j], scale: scales?.[j] });
      for (let i = 0; i < j; i++) checkNoOverlap(fn, `outs[${j}]`, outs[j], `outs[${i}]`, outs[i]);
    });
    this.inner.matmulTernaryMany(ws, a, outs, scales);
  }

  matmulQ8_0Q8_0(w: FloatMatrix, a: Q8_0Activations, out: Float32Array, scale?: number): void {
    checkKernelArgs('matmulQ8_0Q8_0', { w, a, out, scale });
    this.inner.matmulQ8_0Q8_0(w, a, out, scale);
  }

  matmulFloat(w: FloatMatrix, x: Float32Array, xRows: number, out: Float32Array): void {
    checkKernelArgs('matmulFloat', { w, x, xRows, out });
    this.inner.matmulFloat(w, x, xRows, out);
  }

  matmulFloatPicked(w: FloatMatrix, x: Float32Array, xRows: number, wRow: Int32Array, xRow: Int32Array, out: Float32Array): void {
    checkKernelArgs('matmulFloatPicked', { w, x, xRows, wRow, xRow, out });
    this.inner.matmulFloatPicked(w, x, xRows, wRow, xRow, out);
  }

  getRows(w: FloatMatrix | TernaryMatrix, ids: Int32Array, out: Float32Array): void {
    checkKernelArgs('getRows', { w, ids, out });
    this.inner.getRows(w, ids, out);
  }

  rmsNorm(x: Float32Array, rows: number, cols: number, weight: Float32Array, eps: number, out: Float32Array): void {
    checkKernelArgs('rmsNorm', { x, rows, cols, weight, eps, out });
    this.inner.rmsNorm(x, rows, cols, weight, eps, out);
  }

  ropeNeox(x: Float32Array, tokens: number, heads: number, headDim: number, ropeDim: number, positions: Int32Array, freqBase: number): void {
    checkKernelArgs('ropeNeox', { x, tokens, heads, headDim, ropeDim, positions, freqBase });
    this.inner.ropeNeox(x, tokens, heads, headDim, ropeDim, positions, freqBase);
  }

  softmax(x: Float32Array, rows: number, cols: number): void {
    checkKernelArgs('softmax', { x, rows, cols });
    this.inner.softmax(x, rows, cols);
  }

  attention(q: Float32Array, kCache: Uint16Array, vCache: Uint16Array, shape: AttentionShape, out: Float32Array): void {
    checkKernelArgs('attention', { q, kCache, vCache, shape, out });
    this.inner.attention(q, kCache, vCache, shape, out);
  }

  attentionMany(calls: readonly AttentionCall[]): void {
    const fn = 'attentionMany';
    if (!Array.isArray(calls)) fail(fn, 'calls', 'must be an array of attention calls');
    if (calls.length > MAX_ATTENTION_CALLS) fail(fn, 'calls', `holds ${calls.length} calls, at most ${MAX_ATTENTION_CALLS}`);
    calls.forEach((c, j) => {
      if (typeof c !== 'object' || c === null) fail(fn, `calls[${j}]`, 'must be an object { q, kCache, vCache, shape, out }');
      checkPart(fn, `calls[${j}].`, 'attention', { q: c.q, kCache: c.kCache, vCache: c.vCache, shape: c.shape, out: c.out });
      if (c.store !== undefined) {
        if (typeof c.store !== 'object' || c.store === null) fail(fn, `calls[${j}].store`, 'must be an object { k, v }');
        checkPart(fn, `calls[${j}].store.`, 'storeKv', { k: c.store.k, v: c.store.v, kCache: c.kCache, vCache: c.vCache, shape: c.shape });
      }
      for (let i = 0; i < j; i++) {
        checkNoOverlap(fn, `calls[${j}].out`, c.out, `calls[${i}].out`, calls[i].out);
        checkNoOverlap(fn, `calls[${j}].out`, c.out, `calls[${i}].q`, calls[i].q);
        checkNoOverlap(fn, `calls[${i}].out`, calls[i].out, `calls[${j}].q`, c.q);
      }
    });
    // What a call stores is written while other calls run: it may not be, nor be read as, another call's
    // q, out or keys and values to store. Pairs are compared only where two arrays share a buffer.
    if (calls.some((c) => c.store)) {
      const reads = new Set<ArrayBufferLike>();
      const outs = new Set<ArrayBufferLike>();
      for (const c of calls) {
        reads.add(c.q.buffer).add(c.out.buffer);
        outs.add(c.out.buffer);
        if (c.store) reads.add(c.store.k.buffer).add(c.store.v.buffer);
      }
      calls.forEach((c, j) => {
        if (!c.store) return;
        const cacheShared = reads.has(c.kCache.buffer) || reads.has(c.vCache.buffer);
        const storeShared = outs.has(c.store.k.buffer) || outs.has(c.store.v.buffer);
        if (cacheShared || storeShared) checkStoreOverlaps(fn, calls, j);
      });
    }
    this.inner.attentionMany(calls);
  }

  storeKv(k: Float32Array, v: Float32Array, kCache: Uint16Array, vCache: Uint16Array, shape: KvShape): void {
    checkKernelArgs('storeKv', { k, v, kCache, vCache, shape });
    this.inner.storeKv(k, v, kCache, vCache, shape);
  }

  reluSqrMul(gate: Float32Array, up: Float32Array, out: Float32Array): void {
    checkKernelArgs('reluSqrMul', { gate, up, out });
    this.inner.reluSqrMul(gate, up, out);
  }

  siluMul(gate: Float32Array, up: Float32Array, out: Float32Array): void {
    checkKernelArgs('siluMul', { gate, up, out });
    this.inner.siluMul(gate, up, out);
  }

  add(a: Float32Array, b: Float32Array, out: Float32Array): void {
    checkKernelArgs('add', { a, b, out });
    this.inner.add(a, b, out);
  }

  scale(x: Float32Array, s: number, out: Float32Array): void {
    checkKernelArgs('scale', { x, s, out });
    this.inner.scale(x, s, out);
  }

  toF16(x: Float32Array, out: Uint16Array): void {
    checkKernelArgs('toF16', { x, out });
    this.inner.toF16(x, out);
  }

  repackTq1_0AsTq2_0(src: Uint8Array, dst: Uint8Array): void {
    checkKernelArgs('repackTq1_0AsTq2_0', { src, dst });
    this.inner.repackTq1_0AsTq2_0(src, dst);
  }

  encodeQ8_0Blocks(x: Float32Array, out: Uint8Array): void {
    checkKernelArgs('encodeQ8_0Blocks', { x, out });
    this.inner.encodeQ8_0Blocks(x, out);
  }

  encodeQ8_0Rows(w: FloatMatrix, out: Uint8Array): void {
    checkKernelArgs('encodeQ8_0Rows', { w, out });
    this.inner.encodeQ8_0Rows(w, out);
  }

  matmulI8rI8(w: I8rMatrix, a: I8Activations, out: Float32Array): void {
    checkKernelArgs('matmulI8rI8', { w, a, out });
    this.inner.matmulI8rI8(w, a, out);
  }

  encodeI8rRows(w: FloatMatrix, out: I8rMatrix): void {
    checkKernelArgs('encodeI8rRows', { w, out });
    this.inner.encodeI8rRows(w, out);
  }

  screenBoundsI8r(w: FloatMatrix, q: I8rMatrix, out: Float32Array): void {
    checkKernelArgs('screenBoundsI8r', { w, q, out });
    this.inner.screenBoundsI8r(w, q, out);
  }

  screenCandidates(a: Float32Array, bounds: Float32Array, c0: number, c1: number, ids: Int32Array): number {
    checkKernelArgs('screenCandidates', { a, bounds, c0, c1, ids });
    return this.inner.screenCandidates(a, bounds, c0, c1, ids);
  }

  weighLogits(logits: Float32Array, max: number, temperature: number, bandScale: number, weights: Float64Array, ids: Int32Array, bandWeight: Float64Array, start: Int32Array): number {
    checkKernelArgs('weighLogits', { logits, max, temperature, bandScale, weights, ids, bandWeight, start });
    return this.inner.weighLogits(logits, max, temperature, bandScale, weights, ids, bandWeight, start);
  }

  argmax(x: Float32Array): number {
    checkKernelArgs('argmax', { x });
    return this.inner.argmax(x);
  }

  sumExp(x: Float32Array, max: number): number {
    checkKernelArgs('sumExp', { x, max });
    return this.inner.sumExp(x, max);
  }
}
