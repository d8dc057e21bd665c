/**
 * The TypeScript kernels: the fallback when the native addon is not built and the reference every
 * native path is tested against. Each kernel lives in the file named after what it does; this class
 * only routes. It does not validate arguments: wrap it in CheckedKernels (createKernels does).
 */
import { dequantizeRows, encodeQ8_0Blocks, repackTq1_0AsTq2_0 } from '@bitnet/models';
import type { AttentionCall, AttentionShape, FloatMatrix, I8Activations, I8rMatrix, Kernels, KvShape, Q8_0Activations, Q8KActivations, TernaryMatrix } from '../api/Kernels';
import { ternaryMatmulCall } from '../api/TensorKernels';
import { quantizeI8PerToken, quantizeQ8_0, quantizeQ8K } from './ActivationQuant';
import { attention, softmax, storeKv } from './Attention';
import { add, reluSqrMul, scale, siluMul, toF16 } from './Elementwise';
import { getRows, matmulFloat, matmulFloatPicked } from './FloatMatmul';
import { rmsNorm } from './Norm';
import { matmulQ8_0Q8_0 } from './Q8_0Matmul';
import { ropeNeox } from './Rope';
import { encodeI8rRows, matmulI8rI8, screenBoundsI8r, screenCandidates } from './I8rScreen';
import { argmax } from './Argmax';
import { sumExp, weighLogits } from './SamplingWeights';
import { matmulI2sI8, matmulTq1_0Q8K, matmulTq2_0Q8K } from './TernaryMatmul';

export class TsKernels implements Kernels {
  readonly name = 'ts' as const;
  readonly isa = 'ts';
  readonly threads = 1;

  quantizeI8PerToken(x: Float32Array, rows: number, cols: number, out: I8Activations): void {
    quantizeI8PerToken(x, rows, cols, out);
  }

  quantizeQ8K(x: Float32Array, rows: number, cols: number, out: Q8KActivations): void {
    quantizeQ8K(x, rows, cols, out);
  }

  quantizeQ8_0(x: Float32Array, rows: number, cols: number, out: Q8_0Activations): void {
    quantizeQ8_0(x, rows, cols, out);
  }

  matmulI2sI8(w: TernaryMatrix, a: I8Activations, out: Float32Array, scale?: number): void {
    matmulI2sI8(w, a, out, scale);
  }

  matmulI8rI8(w: I8rMatrix, a: I8Activations, out: Float32Array): void {
    matmulI8rI8(w, a, out);
  }

  matmulTq2_0Q8K(w: TernaryMatrix, a: Q8KActivations, out: Float32Array, scale?: number): void {
    matmulTq2_0Q8K(w, a, out, scale);
  }

  matmulTq1_0Q8K(w: TernaryMatrix, a: Q8KActivations, out: Float32Array, scale?: number): void {
    matmulTq1_0Q8K(w, a, out, scale);
  }

  matmulTernaryMany(ws: readonly TernaryMatrix[], a: I8Activations | Q8KActivations, outs: readonly Float32Array[], scales?: readonly number[]): void {
    ws.forEach((w, j) => ternaryMatmulCall(this, w, a, outs[j], scales?.[j]));
  }

  matmulQ8_0Q8_0(w: FloatMatrix, a: Q8_0Activations, out: Float32Array, scale?: number): void {
    matmulQ8_0Q8_0(w, a, out, scale);
  }

  matmulFloat(w: FloatMatrix, x: Float32Array, xRows: number, out: Float32Array): void {
    matmulFloat(w, x, xRows, out);
  }

  matmulFloatPicked(w: FloatMatrix, x: Float32Array, xRows: number, wRow: Int32Array, xRow: Int32Array, out: Float32Array): void {
    matmulFloatPicked(w, x, xRows, wRow, xRow, out);
  }

  getRows(w: FloatMatrix | TernaryMatrix, ids: Int32Array, out: Float32Array): void {
    getRows(w, ids, out);
  }

  rmsNorm(x: Float32Array, rows: number, cols: number, weight: Float32Array, eps: number, out: Float32Array): void {
    rmsNorm(x, rows, cols, weight, eps, out);
  }

  ropeNeox(x: Float32Array, tokens: number, heads: number, headDim: number, ropeDim: number, positions: Int32Array, freqBase: number): void {
    ropeNeox(x, tokens, heads, headDim, ropeDim, positions, freqBase);
  }

  softmax(x: Float32Array, rows: number, cols: number): void {
    softmax(x, rows, cols);
  }

  attention(q: Float32Array, kCache: Uint16Array, vCache: Uint16Array, shape: AttentionShape, out: Float32Array): void {
    attention(q, kCache, vCache, shape, out);
  }

  attentionMany(calls: readonly AttentionCall[]): void {
    for (const c of calls) {
      if (c.store) storeKv(c.store.k, c.store.v, c.kCache, c.vCache, c.shape);
      attention(c.q, c.kCache, c.vCache, c.shape, c.out);
    }
  }

  storeKv(k: Float32Array, v: Float32Array, kCache: Uint16Array, vCache: Uint16Array, shape: KvShape): void {
    storeKv(k, v, kCache, vCache, shape);
  }

  reluSqrMul(gate: Float32Array, up: Float32Array, out: Float32Array): void {
    reluSqrMul(gate, up, out);
  }

  siluMul(gate: Float32Array, up: Float32Array, out: Float32Array): void {
    siluMul(gate, up, out);
  }

  add(a: Float32Array, b: Float32Array, out: Float32Array): void {
    add(a, b, out);
  }

  scale(x: Float32Array, s: number, out: Float32Array): void {
    scale(x, s, out);
  }

  toF16(x: Float32Array, out: Uint16Array): void {
    toF16(x, out);
  }

  repackTq1_0AsTq2_0(src: Uint8Array, dst: Uint8Array): void {
    dst.set(repackTq1_0AsTq2_0(src, (dst.length / 66) * 256));
  }

  encodeQ8_0Blocks(x: Float32Array, out: Uint8Array): void {
    out.set(encodeQ8_0Blocks(x));
  }

  encodeQ8_0Rows(w: FloatMatrix, out: Uint8Array): void {
    out.set(encodeQ8_0Blocks(dequantizeRows(w.type, w.data, w.cols, 0, w.rows)));
  }

  encodeI8rRows(w: FloatMatrix, out: I8rMatrix): void {
    encodeI8rRows(w, out);
  }

  screenBoundsI8r(w: FloatMatrix, q: I8rMatrix, out: Float32Array): void {
    screenBoundsI8r(w, q, out);
  }

  screenCandidates(a: Float32Array, bounds: Float32Array, c0: number, c1: number, ids: Int32Array): number {
    return screenCandidates(a, bounds, c0, c1, ids);
  }

  weighLogits(logits: Float32Array, max: number, temperature: number, bandScale: number, weights: Float64Array, ids: Int32Array, bandWeight: Float64Array, start: Int32Array): number {
    return weighLogits(logits, max, temperature, bandScale, weights, ids, bandWeight, start);
  }

  argmax(x: Float32Array): number {
    return argmax(x);
  }

  sumExp(x: Float32Array, max: number): number {
    return sumExp(x, max);
  }
}
