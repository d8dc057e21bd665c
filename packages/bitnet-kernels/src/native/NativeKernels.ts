/**
 * The native kernels, unchecked: the Kernels contract (../api/Kernels.ts) over the C++ addon
 * (build/Release/bitnet_kernels.node from the top-level native/ folder: one source per instruction
 * set behind a dispatch table chosen once at load by cpuid + xgetbv, BITNET_ISA to force one, and a
 * persistent native thread pool, sized by createKernels({ threads }) or, by default, BITNET_THREADS).
 *
 * No argument validation here beyond what the addon itself checks for memory safety (types, integer
 * ranges, lengths against shapes → TypeError / RangeError): createKernels wraps this class in
 * CheckedKernels, which validates the whole contract. Every call is synchronous; the pool threads
 * never call into JS. Public only through @bitnet/kernels/testing.
 */
import type { AttentionCall, AttentionShape, FloatMatrix, I8Activations, I8rMatrix, Kernels, KvShape, Q8_0Activations, Q8KActivations, TernaryMatrix } from '../api/Kernels';
import { nativeAddon } from '../backend/KernelBackend';
import type { NativeAddon } from './addon';

/** The per-token sums argument of matmulTernaryMany for Q8_K activations (which have none). */
const NO_SUMS = new Int32Array(0);

export class NativeKernels implements Kernels {
  readonly name = 'native' as const;
  private readonly addon: NativeAddon;

  /** Uses the given addon, by default the one KernelBackend loaded (throws KernelUnavailableError when there is none). */
  constructor(addon: NativeAddon = nativeAddon()) {
    this.addon = addon;
  }

  /** The instruction set in use ('generic' | 'avx2' | 'avxvnni' | 'avx512' | 'avx512vbmi'). */
  get isa(): string {
    return this.addon.selectedIsa();
  }

  /** Threads of the native pool, the calling thread included. */
  get threads(): number {
    return this.addon.threads();
  }

  quantizeI8PerToken(x: Float32Array, rows: number, cols: number, out: I8Activations): void {
    this.addon.quantizeI8PerToken(x, rows, cols, out.qs, out.scales, out.sums);
  }

  quantizeQ8K(x: Float32Array, rows: number, cols: number, out: Q8KActivations): void {
    this.addon.quantizeQ8K(x, rows, cols, out.qs, out.d, out.bsums);
  }

  quantizeQ8_0(x: Float32Array, rows: number, cols: number, out: Q8_0Activations): void {
    this.addon.quantizeQ8_0(x, rows, cols, out.qs, out.d);
  }

  matmulI2sI8(w: TernaryMatrix, a: I8Activations, out: Float32Array, scale?: number): void {
    this.addon.matmulI2sI8(w.data, w.rows, w.cols, a.qs, a.scales, a.sums, a.rows, out, scale);
  }

  matmulTq2_0Q8K(w: TernaryMatrix, a: Q8KActivations, out: Float32Array, scale?: number): void {
    this.addon.matmulTq2_0Q8K(w.data, w.rows, w.cols, a.qs, a.d, a.rows, out, scale);
  }

  matmulTq1_0Q8K(w: TernaryMatrix, a: Q8KActivations, out: Float32Array, scale?: number): void {
    this.addon.matmulTq1_0Q8K(w.data, w.rows, w.cols, a.qs, a.d, a.rows, out, scale);
  }

  matmulTernaryMany(ws: readonly TernaryMatrix[], a: I8Activations | Q8KActivations, outs: readonly Float32Array[], scales?: readonly number[]): void {
    const i8 = 'sums' in a;
    this.addon.matmulTernaryMany(
      ws[0].type,
      ws.map((w) => w.data),
      Int32Array.from(ws, (w) => w.rows),
      ws[0].cols,
      a.qs,
      i8 ? a.scales : a.d,
      i8 ? a.sums : NO_SUMS,
      a.rows,
      [...outs],
      scales ? Float32Array.from(scales) : Float32Array.from(ws, () => 1),
    );
  }

  matmulQ8_0Q8_0(w: FloatMatrix, a: Q8_0Activations, out: Float32Array, scale?: number): void {
    this.addon.matmulQ8_0Q8_0(w.data, w.rows, w.cols, a.qs, a.d, a.rows, out, scale);
  }

  matmulFloat(w: FloatMatrix, x: Float32Array, xRows: number, out: Float32Array): void {
    this.addon.matmulFloat(w.type, w.data, w.rows, w.cols, x, xRows, out);
  }

  matmulFloatPicked(w: FloatMatrix, x: Float32Array, xRows: number, wRow: Int32Array, xRow: Int32Array, out: Float32Array): void {
    this.addon.matmulFloatPicked(w.type, w.data, w.rows, w.cols, x, xRows, wRow, xRow, out);
  }

  getRows(w: FloatMatrix | TernaryMatrix, ids: Int32Array, out: Float32Array): void {
    this.addon.getRows(w.type, w.data, w.rows, w.cols, ids, out);
  }

  rmsNorm(x: Float32Array, rows: number, cols: number, weight: Float32Array, eps: number, out: Float32Array): void {
    this.addon.rmsNorm(x, rows, cols, weight, eps, out);
  }

  ropeNeox(x: Float32Array, tokens: number, heads: number, headDim: number, ropeDim: number, positions: Int32Array, freqBase: number): void {
    this.addon.ropeNeox(x, tokens, heads, headDim, ropeDim, positions, freqBase);
  }

  softmax(x: Float32Array, rows: number, cols: number): void {
    this.addon.softmax(x, rows, cols);
  }

  attention(q: Float32Array, kCache: Uint16Array, vCache: Uint16Array, shape: AttentionShape, out: Float32Array): void {
    const s = shape;
    this.addon.attention(q, kCache, vCache, s.tokens, s.heads, s.kvHeads, s.headDim, s.startPos, s.capacity, s.scale, out, s.independentRows === true, s.blocks ?? null, s.blockTokens ?? 0);
  }
  attentionMany(calls: readonly AttentionCall[]): void {
    this.addon.attentionMany(
      calls.map(({ q, kCache, vCache, shape: s, out, store }) => [
        q, kCache, vCache, s.tokens, s.heads, s.kvHeads, s.headDim, s.startPos, s.capacity, s.scale, out, s.independentRows === true, s.blocks ?? null, s.blockTokens ?? 0,
        store?.k ?? null, store?.v ?? null,
      ]),
    );
  }


  storeKv(k: Float32Array, v: Float32Array, kCache: Uint16Array, vCache: Uint16Array, s: KvShape): void {
    this.addon.storeKv(k, v, kCache, vCache, s.tokens, s.kvHeads, s.headDim, s.startPos, s.capacity, s.blocks ?? null, s.blockTokens ?? 0);
  }

  reluSqrMul(gate: Float32Array, up: Float32Array, out: Float32Array): void {
    this.addon.reluSqrMul(gate, up, out);
  }

  siluMul(gate: Float32Array, up: Float32Array, out: Float32Array): void {
    this.addon.siluMul(gate, up, out);
  }

  add(a: Float32Array, b: Float32Array, out: Float32Array): void {
    this.addon.add(a, b, out);
  }

  scale(x: Float32Array, s: number, out: Float32Array): void {
    this.addon.scale(x, s, out);
  }

  toF16(x: Float32Array, out: Uint16Array): void {
    this.addon.toF16(x, out);
  }

  repackTq1_0AsTq2_0(src: Uint8Array, dst: Uint8Array): void {
    this.addon.repackTq1_0AsTq2_0(src, dst);
  }

  encodeQ8_0Blocks(x: Float32Array, out: Uint8Array): void {
    this.addon.encodeQ8_0(x, out);
  }

  encodeQ8_0Rows(w: FloatMatrix, out: Uint8Array): void {
    this.addon.encodeQ8_0Rows(w.type, w.data, w.rows, w.cols, out);
  }

  matmulI8rI8(w: I8rMatrix, a: I8Activations, out: Float32Array): void {
    this.addon.matmulI8rI8(w.codes, w.scales, w.rows, w.cols, a.qs, a.scales, a.sums, a.rows, out);
  }

  encodeI8rRows(w: FloatMatrix, out: I8rMatrix): void {
    this.addon.encodeI8rRows(w.type, w.data, w.rows, w.cols, out.codes, out.scales);
  }

  screenBoundsI8r(w: FloatMatrix, q: I8rMatrix, out: Float32Array): void {
    this.addon.screenBoundsI8r(w.type, w.data, w.rows, w.cols, q.codes, q.scales, out);
  }

  screenCandidates(a: Float32Array, bounds: Float32Array, c0: number, c1: number, ids: Int32Array): number {
    return this.addon.screenCandidates(a, bounds, c0, c1, ids);
  }

  weighLogits(logits: Float32Array, max: number, temperature: number, bandScale: number, weights: Float64Array, ids: Int32Array, bandWeight: Float64Array, start: Int32Array): number {
    return this.addon.weighLogits(logits, max, temperature, bandScale, weights, ids, bandWeight, start);
  }

  argmax(x: Float32Array): number {
    return this.addon.argmax(x);
  }

  sumExp(x: Float32Array, max: number): number {
    return this.addon.sumExp(x, max);
  }
}
