import * as vm from 'node:vm';
import { GgmlType } from '@bitnet/models';
import { attentionCase, floatCase, ternaryCase } from '../testing/kernelCases';
import { TsKernels } from '../ts/TsKernels';
import { allocI8Activations, allocQ8_0Activations, allocQ8KActivations } from './Activations';
import { CheckedKernels } from './CheckedKernels';
import { KernelArgumentError } from './KernelArgumentError';
import type { AttentionShape, FloatMatrix, I8Activations, I8rMatrix, Kernels, Q8_0Activations, Q8KActivations, TernaryMatrix } from './Kernels';

/** Kernels that only count calls: a rejected call must never reach the implementation. */
function countingKernels(): { kernels: Kernels; calls: string[] } {
  const calls: string[] = [];
  const ts = new TsKernels();
  const kernels = new Proxy(ts, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { kernels, calls };
}

// Valid arguments, each test breaks one.
const i2s = ternaryCase(GgmlType.I2_S, 3, 256, 2, 1).w;
const tq2 = ternaryCase(GgmlType.TQ2_0, 3, 512, 2, 2).w;
const tq1 = ternaryCase(GgmlType.TQ1_0, 3, 512, 2, 3).w;
const f16 = floatCase(GgmlType.F16, 4, 64, 2, 4).w;
const q8 = floatCase(GgmlType.Q8_0, 4, 64, 2, 5).w;
const att = attentionCase({ tokens: 2, heads: 4, kvHeads: 2, headDim: 8, startPos: 1, capacity: 4 }, 6);
const patched = <T extends object>(o: T, patch: Partial<Record<keyof T, unknown>>): T => ({ ...o, ...patch }) as T;
const f32 = (n: number) => new Float32Array(n);
const i8r = (): I8rMatrix => ({ rows: 4, cols: 64, codes: new Uint8Array(256), scales: new Float32Array(4) });
const i8 = (cols = 256): I8Activations => allocI8Activations(2, cols);
const q8k = (cols = 512): Q8KActivations => allocQ8KActivations(2, cols);
const q80 = (cols = 64): Q8_0Activations => allocQ8_0Activations(2, cols);
const shape = (patch: Partial<AttentionShape>): AttentionShape => ({ ...att.shape, ...patch });

type Case = [string, (k: Kernels) => void, string];

interface WeighArgs {
  logits: Float32Array;
  max: number;
  temperature: number;
  bandScale: number;
  weights: Float64Array | Float32Array;
  ids: Int32Array;
  bandWeight: Float64Array;
  start: Int32Array;
}
/** One buffer that two of weighLogits' arrays share in the overlap case. */
const weighBuffer = new Float64Array(16);
function weigh(k: Kernels, patch: Partial<WeighArgs>): number {
  const a: WeighArgs = { logits: f32(10), max: 0, temperature: 1, bandScale: 4, weights: new Float64Array(10), ids: new Int32Array(10), bandWeight: new Float64Array(4), start: new Int32Array(5), ...patch };
  if (patch.start?.buffer === weighBuffer.buffer) a.bandWeight = weighBuffer.subarray(0, 4);
  return k.weighLogits(a.logits, a.max, a.temperature, a.bandScale, a.weights as Float64Array, a.ids, a.bandWeight, a.start);
}

const BAD: Case[] = [
  // activation quantization
  ['quantizeI8PerToken', (k) => k.quantizeI8PerToken(f32(512), 2.5, 256, i8()), 'rows'],
  ['quantizeI8PerToken', (k) => k.quantizeI8PerToken(f32(512), 2, 0, i8()), 'cols'],
  ['quantizeI8PerToken', (k) => k.quantizeI8PerToken(f32(511), 2, 256, i8()), 'x'],
  ['quantizeI8PerToken', (k) => k.quantizeI8PerToken(new Float64Array(512) as unknown as Float32Array, 2, 256, i8()), 'x'],
  ['quantizeI8PerToken', (k) => k.quantizeI8PerToken(f32(768), 3, 256, i8()), 'out.rows'],
  ['quantizeI8PerToken', (k) => k.quantizeI8PerToken(f32(512), 2, 256, patched(i8(), { scales: f32(1) })), 'out.scales'],
  ['quantizeI8PerToken', (k) => k.quantizeI8PerToken(f32(512), 2, 256, patched(i8(), { sums: new Float32Array(2) })), 'out.sums'],
  ['quantizeQ8K', (k) => k.quantizeQ8K(f32(2 * 384), 2, 384, allocQ8KActivations(2, 512)), 'cols'],
  ['quantizeQ8K', (k) => k.quantizeQ8K(f32(1024), 2, 512, patched(q8k(), { bsums: new Int16Array(63) })), 'out.bsums'],
  ['quantizeQ8K', (k) => k.quantizeQ8K(f32(1024), 2, 512, patched(q8k(), { d: f32(3) })), 'out.d'],
  ['quantizeQ8K', (k) => { const x = f32(1024); k.quantizeQ8K(x, 2, 512, patched(q8k(), { d: x.subarray(0, 4) })); }, 'out.d'],
  ['quantizeQ8_0', (k) => k.quantizeQ8_0(f32(2 * 48), 2, 48, allocQ8_0Activations(2, 64)), 'cols'],
  ['quantizeQ8_0', (k) => k.quantizeQ8_0(f32(128), 2, 64, patched(q80(), { d: f32(3) })), 'out.d'],
  ['quantizeQ8_0', (k) => k.quantizeQ8_0(f32(128), 2, 64, patched(q80(), { qs: new Uint8Array(128) })), 'out.qs'],
  ['quantizeQ8_0', (k) => { const x = f32(128); k.quantizeQ8_0(x, 2, 64, patched(q80(), { d: x.subarray(0, 4) })); }, 'out.d'],
  // ternary matmuls
  ['matmulI2sI8', (k) => k.matmulI2sI8(tq2, i8(512), f32(6)), 'w.type'],
  ['matmulI2sI8', (k) => k.matmulI2sI8(patched(i2s, { cols: 200 }), i8(200), f32(6)), 'w.cols'],
  ['matmulI2sI8', (k) => k.matmulI2sI8(patched(i2s, { data: i2s.data.subarray(4) }), i8(), f32(6)), 'w.data'],
  ['matmulI2sI8', (k) => k.matmulI2sI8(patched(i2s, { rows: 4 }), i8(), f32(8)), 'w.data'],
  ['matmulI2sI8', (k) => k.matmulI2sI8(patched(i2s, { rows: -3 }), i8(), f32(6)), 'w.rows'],
  ['matmulI2sI8', (k) => k.matmulI2sI8(i2s, i8(384), f32(6)), 'a.cols'],
  ['matmulI2sI8', (k) => k.matmulI2sI8(i2s, i8(), f32(5)), 'out'],
  ['matmulI2sI8', (k) => k.matmulI2sI8(i2s, patched(i8(), { qs: new Int8Array(511) }), f32(6)), 'a.qs'],
  ['matmulTq2_0Q8K', (k) => k.matmulTq2_0Q8K(tq1, q8k(), f32(6)), 'w.type'],
  ['matmulTq2_0Q8K', (k) => k.matmulTq2_0Q8K(patched(tq2, { cols: 384 }), q8k(), f32(6)), 'w.cols'],
  ['matmulTq2_0Q8K', (k) => k.matmulTq2_0Q8K(tq2, q8k(), f32(7)), 'out'],
  ['matmulTq1_0Q8K', (k) => k.matmulTq1_0Q8K(patched(tq1, { data: new Uint8Array(tq1.data.length + 1) }), q8k(), f32(6)), 'w.data'],
  ['matmulTq1_0Q8K', (k) => k.matmulTq1_0Q8K(tq1, allocQ8KActivations(2, 256), f32(6)), 'a.cols'],
  ['matmulTq1_0Q8K', (k) => k.matmulTq1_0Q8K(tq1, patched(q8k(), { rows: 0 }), f32(0)), 'a.rows'],
  // the integer matmuls' optional output scale: a finite number
  ['matmulTq2_0Q8K', (k) => k.matmulTq2_0Q8K(tq2, q8k(), f32(6), NaN), 'scale'],
  ['matmulTq2_0Q8K', (k) => k.matmulTq2_0Q8K(tq2, q8k(), f32(6), Infinity), 'scale'],
  ['matmulTq1_0Q8K', (k) => k.matmulTq1_0Q8K(tq1, q8k(), f32(6), -Infinity), 'scale'],
  ['matmulTq1_0Q8K', (k) => k.matmulTq1_0Q8K(tq1, q8k(), f32(6), '0.5' as unknown as number), 'scale'],
  ['matmulI2sI8', (k) => k.matmulI2sI8(i2s, i8(), f32(6), null as unknown as number), 'scale'],
  ['matmulQ8_0Q8_0', (k) => k.matmulQ8_0Q8_0(q8, q80(), f32(8), NaN), 'scale'],
  // Q8_0 × Q8_0
  ['matmulQ8_0Q8_0', (k) => k.matmulQ8_0Q8_0(f16, q80(), f32(8)), 'w.type'],
  ['matmulQ8_0Q8_0', (k) => k.matmulQ8_0Q8_0(patched(q8, { data: q8.data.subarray(1) }), q80(), f32(8)), 'w.data'],
  ['matmulQ8_0Q8_0', (k) => k.matmulQ8_0Q8_0(q8, q80(96), f32(8)), 'a.cols'],
  ['matmulQ8_0Q8_0', (k) => k.matmulQ8_0Q8_0(q8, patched(q80(), { d: f32(5) }), f32(8)), 'a.d'],
  ['matmulQ8_0Q8_0', (k) => k.matmulQ8_0Q8_0(q8, q80(), f32(9)), 'out'],
  ['matmulQ8_0Q8_0', (k) => { const buf = f32(12); k.matmulQ8_0Q8_0(q8, patched(q80(), { d: buf.subarray(0, 4) }), buf.subarray(2, 10)); }, 'out'],
  // float matmul and getRows
  ['matmulFloat', (k) => k.matmulFloat(i2s as unknown as FloatMatrix, f32(512), 2, f32(6)), 'w.type'],
  ['matmulFloat', (k) => k.matmulFloat(patched(q8, { cols: 48 }), f32(96), 2, f32(8)), 'w.cols'],
  ['matmulFloat', (k) => k.matmulFloat(f16, f32(128), 0, f32(0)), 'xRows'],
  ['matmulFloat', (k) => k.matmulFloat(f16, f32(127), 2, f32(8)), 'x'],
  ['matmulFloat', (k) => k.matmulFloat(f16, f32(128), 2, f32(9)), 'out'],
  ['matmulFloat', (k) => { const x = f32(128); k.matmulFloat(f16, x, 2, x.subarray(120)); }, 'out'],
  ['getRows', (k) => k.getRows(f16, Int32Array.of(0, 4), f32(128)), 'ids[1]'],
  ['getRows', (k) => k.getRows(q8, Int32Array.of(-1), f32(64)), 'ids[0]'],
  ['getRows', (k) => k.getRows(f16, new Int32Array(0), f32(0)), 'ids.length'],
  ['getRows', (k) => k.getRows(f16, Uint32Array.of(1) as unknown as Int32Array, f32(64)), 'ids'],
  ['getRows', (k) => k.getRows(tq2, Int32Array.of(2), f32(256)), 'out'],
  ['getRows', (k) => k.getRows({ ...f16, type: GgmlType.Q4_0 } as unknown as FloatMatrix, Int32Array.of(0), f32(64)), 'w.type'],
  ['getRows', (k) => k.getRows(null as unknown as TernaryMatrix, Int32Array.of(0), f32(64)), 'w'],
  // chosen elements of a float matmul
  ['matmulFloatPicked', (k) => k.matmulFloatPicked(f16, f32(128), 2, Int32Array.of(0, 4), Int32Array.of(0, 1), f32(2)), 'wRow[1]'],
  ['matmulFloatPicked', (k) => k.matmulFloatPicked(f16, f32(128), 2, Int32Array.of(-1), Int32Array.of(0), f32(1)), 'wRow[0]'],
  ['matmulFloatPicked', (k) => k.matmulFloatPicked(f16, f32(128), 2, Int32Array.of(0, 3), Int32Array.of(0, 2), f32(2)), 'xRow[1]'],
  ['matmulFloatPicked', (k) => k.matmulFloatPicked(f16, f32(128), 2, Int32Array.of(0, 3), Int32Array.of(-1, 0), f32(2)), 'xRow[0]'],
  ['matmulFloatPicked', (k) => k.matmulFloatPicked(f16, f32(128), 2, Int32Array.of(0, 3), Int32Array.of(0), f32(2)), 'xRow'],
  ['matmulFloatPicked', (k) => k.matmulFloatPicked(f16, f32(128), 2, Int32Array.of(0, 3), Int32Array.of(0, 1, 1), f32(2)), 'xRow'],
  ['matmulFloatPicked', (k) => k.matmulFloatPicked(f16, f32(128), 2, Int32Array.of(0, 3), Int32Array.of(0, 1), f32(3)), 'out'],
  ['matmulFloatPicked', (k) => k.matmulFloatPicked(f16, f32(128), 2, Uint32Array.of(0) as unknown as Int32Array, Int32Array.of(0), f32(1)), 'wRow'],
  ['matmulFloatPicked', (k) => k.matmulFloatPicked(f16, f32(128), 2, Int32Array.of(0), [0] as unknown as Int32Array, f32(1)), 'xRow'],
  ['matmulFloatPicked', (k) => k.matmulFloatPicked(f16, f32(127), 2, Int32Array.of(0), Int32Array.of(0), f32(1)), 'x'],
  ['matmulFloatPicked', (k) => k.matmulFloatPicked(f16, f32(128), 0, Int32Array.of(0), Int32Array.of(0), f32(1)), 'xRows'],
  ['matmulFloatPicked', (k) => k.matmulFloatPicked(i2s as unknown as FloatMatrix, f32(512), 2, Int32Array.of(0), Int32Array.of(0), f32(1)), 'w.type'],
  ['matmulFloatPicked', (k) => k.matmulFloatPicked(patched(f16, { data: f16.data.subarray(2) }), f32(128), 2, Int32Array.of(0), Int32Array.of(0), f32(1)), 'w.data'],
  ['matmulFloatPicked', (k) => { const x = f32(128); k.matmulFloatPicked(f16, x, 2, Int32Array.of(0), Int32Array.of(0), x.subarray(127)); }, 'out'],
  // the Q8_0 screening bounds
  ['matmulI8rI8', (k) => k.matmulI8rI8(i8r(), i8(64), f32(7)), 'out'],
  ['matmulI8rI8', (k) => k.matmulI8rI8(patched(i8r(), { cols: 48 }), i8(48), f32(8)), 'w.cols'],
  ['matmulI8rI8', (k) => k.matmulI8rI8(patched(i8r(), { scales: f32(3) }), i8(64), f32(8)), 'w.scales'],
  ['matmulI8rI8', (k) => k.matmulI8rI8(i8r(), i8(96), f32(8)), 'a.cols'],
  ['matmulI8rI8', (k) => { const buf = new ArrayBuffer(256); k.matmulI8rI8(patched(i8r(), { codes: new Uint8Array(buf) }), i8(64), new Float32Array(buf, 32, 8)); }, 'out'],
  ['encodeI8rRows', (k) => k.encodeI8rRows(q8, i8r()), 'w.type'],
  ['encodeI8rRows', (k) => k.encodeI8rRows(f16, patched(i8r(), { rows: 3 })), 'out.rows'],
  ['encodeI8rRows', (k) => k.encodeI8rRows(f16, patched(i8r(), { codes: new Uint8Array(255) })), 'out.codes'],
  ['screenBoundsI8r', (k) => k.screenBoundsI8r(f16, i8r(), f32(9)), 'out'],
  ['screenBoundsI8r', (k) => k.screenBoundsI8r(f16, null as unknown as I8rMatrix, f32(8)), 'q'],
  ['screenBoundsI8r', (k) => { const buf = new ArrayBuffer(64); k.screenBoundsI8r(f16, patched(i8r(), { scales: new Float32Array(buf, 16, 4) }), new Float32Array(buf, 0, 8)); }, 'out'],
  ['screenCandidates', (k) => k.screenCandidates(f32(4), f32(8), -1, 0, new Int32Array(4)), 'c0'],
  ['screenCandidates', (k) => k.screenCandidates(f32(4), f32(8), 0, NaN, new Int32Array(4)), 'c1'],
  ['screenCandidates', (k) => k.screenCandidates(f32(4), f32(6), 0, 0, new Int32Array(4)), 'bounds'],
  ['screenCandidates', (k) => k.screenCandidates(f32(0), f32(0), 0, 0, new Int32Array(4)), 'a.length'],
  // norm, rope, softmax
  ['rmsNorm', (k) => k.rmsNorm(f32(12), 3, 4, f32(3), 1e-5, f32(12)), 'weight'],
  ['rmsNorm', (k) => k.rmsNorm(f32(12), 3, 4, f32(4), -1, f32(12)), 'eps'],
  ['rmsNorm', (k) => k.rmsNorm(f32(12), 3, 4, f32(4), NaN, f32(12)), 'eps'],
  ['rmsNorm', (k) => k.rmsNorm(f32(12), 3, 4, f32(4), 1e-5, f32(11)), 'out'],
  ['rmsNorm', (k) => { const x = f32(16); k.rmsNorm(x.subarray(0, 12), 3, 4, f32(4), 1e-5, x.subarray(4)); }, 'out'],
  ['ropeNeox', (k) => k.ropeNeox(f32(16), 1, 2, 8, 7, Int32Array.of(0), 1e4), 'ropeDim'],
  ['ropeNeox', (k) => k.ropeNeox(f32(16), 1, 2, 8, 10, Int32Array.of(0), 1e4), 'ropeDim'],
  ['ropeNeox', (k) => k.ropeNeox(f32(16), 1, 2, 8, 8, Int32Array.of(0, 1), 1e4), 'positions'],
  ['ropeNeox', (k) => k.ropeNeox(f32(16), 1, 2, 8, 8, Int32Array.of(-1), 1e4), 'positions[0]'],
  ['ropeNeox', (k) => k.ropeNeox(f32(16), 1, 2, 8, 8, Int32Array.of(0), 0), 'freqBase'],
  ['ropeNeox', (k) => k.ropeNeox(f32(15), 1, 2, 8, 8, Int32Array.of(0), 1e4), 'x'],
  ['ropeNeox', (k) => k.ropeNeox(f32(16), 1, 2, 0, 0, Int32Array.of(0), 1e4), 'headDim'],
  ['softmax', (k) => k.softmax(f32(10), 3, 4), 'x'],
  ['softmax', (k) => k.softmax(f32(0), 0, 4), 'rows'],
  // attention
  ['attention', (k) => k.attention(att.q, att.kCache, att.vCache, shape({ kvHeads: 3 }), f32(64)), 'shape.kvHeads'],
  ['attention', (k) => k.attention(att.q, att.kCache, att.vCache, shape({ startPos: 3 }), f32(64)), 'shape.capacity'],
  ['attention', (k) => k.attention(att.q, att.kCache, att.vCache, shape({ startPos: -1 }), f32(64)), 'shape.startPos'],
  ['attention', (k) => k.attention(att.q, att.kCache, att.vCache, shape({ tokens: 0 }), f32(0)), 'shape.tokens'],
  ['attention', (k) => k.attention(att.q, att.kCache, att.vCache, shape({ scale: Infinity }), f32(64)), 'shape.scale'],
  ['attention', (k) => k.attention(att.q, att.kCache, att.vCache, shape({ capacity: 5 }), f32(64)), 'kCache'],
  ['attention', (k) => k.attention(att.q, att.kCache, att.vCache.subarray(1), att.shape, f32(64)), 'vCache'],
  ['attention', (k) => k.attention(att.q.subarray(1), att.kCache, att.vCache, att.shape, f32(64)), 'q'],
  ['attention', (k) => k.attention(att.q, att.kCache, att.vCache, att.shape, f32(63)), 'out'],
  ['attention', (k) => k.attention(att.q, att.kCache, att.vCache, att.shape, att.q), 'out'],
  ['attention', (k) => k.attention(att.q, att.kCache, att.vCache, undefined as unknown as AttentionShape, f32(64)), 'shape'],
  // element-wise
  ['reluSqrMul', (k) => k.reluSqrMul(f32(4), f32(5), f32(4)), 'up'],
  ['siluMul', (k) => k.siluMul(f32(4), f32(4), f32(3)), 'out'],
  ['add', (k) => k.add(f32(0), f32(0), f32(0)), 'a.length'],
  ['add', (k) => { const x = f32(8); k.add(x.subarray(0, 4), f32(4), x.subarray(2, 6)); }, 'out'],
  ['scale', (k) => k.scale(f32(4), NaN, f32(4)), 's'],
  ['scale', (k) => k.scale(f32(4), 2, f32(5)), 'out'],
  ['scale', (k) => k.scale(f32(0), 2, f32(0)), 'x.length'],
  ['toF16', (k) => k.toF16(f32(4), new Uint16Array(3)), 'out'],
  ['toF16', (k) => k.toF16(f32(4), new Int16Array(4) as unknown as Uint16Array), 'out'],
  ['toF16', (k) => k.toF16(new Float64Array(4) as unknown as Float32Array, new Uint16Array(4)), 'x'],
  // the sampler's pass
  ['argmax', (k) => k.argmax(f32(0)), 'x.length'],
  ['sumExp', (k) => k.sumExp(f32(3), Infinity), 'max'],
  ['sumExp', (k) => k.sumExp(new Int32Array(3) as unknown as Float32Array, 0), 'x'],
  ['argmax', (k) => k.argmax(new Float64Array(3) as unknown as Float32Array), 'x'],
  ['weighLogits', (k) => weigh(k, { logits: f32(0) }), 'logits.length'],
  ['weighLogits', (k) => weigh(k, { temperature: 0 }), 'temperature'],
  ['weighLogits', (k) => weigh(k, { temperature: Infinity }), 'temperature'],
  ['weighLogits', (k) => weigh(k, { max: NaN }), 'max'],
  ['weighLogits', (k) => weigh(k, { bandScale: -1 }), 'bandScale'],
  ['weighLogits', (k) => weigh(k, { weights: new Float64Array(9) }), 'weights'],
  ['weighLogits', (k) => weigh(k, { weights: f32(10) }), 'weights'],
  ['weighLogits', (k) => weigh(k, { ids: new Int32Array(11) }), 'ids'],
  ['weighLogits', (k) => weigh(k, { bandWeight: new Float64Array(0), start: new Int32Array(1) }), 'bandWeight.length'],
  ['weighLogits', (k) => weigh(k, { bandWeight: new Float64Array(257), start: new Int32Array(258) }), 'bandWeight'],
  ['weighLogits', (k) => weigh(k, { start: new Int32Array(4) }), 'start'],
  ['weighLogits', (k) => weigh(k, { start: new Int32Array(weighBuffer.buffer, 0, 5) }), 'bandWeight'],
];

describe('CheckedKernels', () => {
  it.each(BAD.map(([kernel, call, arg], i) => [`${kernel}: ${arg} (#${i})`, kernel, call, arg] as const))(
    'rejects a bad argument before the call: %s',
    (_name, kernel, call, arg) => {
      const { kernels, calls } = countingKernels();
      let error: unknown;
      try {
        call(new CheckedKernels(kernels));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(KernelArgumentError);
      expect(error).toBeInstanceOf(RangeError);
      const e = error as KernelArgumentError;
      expect(e.code).toBe('BAD_KERNEL_ARGUMENT');
      expect([e.kernel, e.argument]).toEqual([kernel, arg]);
      expect(e.message.startsWith(`${kernel}: ${arg} `)).toBe(true);
      expect(calls).toEqual([]);
    },
  );

  it('passes valid calls through, in-place element-wise and rmsNorm included, and reports the inner name and isa', () => {
    const { kernels, calls } = countingKernels();
    const k = new CheckedKernels(kernels);
    expect([k.name, k.isa]).toEqual(['ts', 'ts']);
    const x = f32(512).fill(0.5);
    const a = i8();
    k.quantizeI8PerToken(x, 2, 256, a);
    k.matmulI2sI8(i2s, a, f32(6));
    const aq = q8k();
    k.quantizeQ8K(f32(1024), 2, 512, aq);
    k.matmulTq2_0Q8K(tq2, aq, f32(6));
    k.matmulTq1_0Q8K(tq1, aq, f32(6), 0.5);
    const a80 = q80();
    k.quantizeQ8_0(f32(128).fill(0.25), 2, 64, a80);
    k.matmulQ8_0Q8_0(q8, a80, f32(8));
    k.matmulFloat(f16, f32(128), 2, f32(8));
    k.getRows(f16, Int32Array.of(3, 0), f32(128));
    k.matmulFloatPicked(f16, f32(128), 2, Int32Array.of(3, 0, 3), Int32Array.of(1, 0, 1), f32(3));
    k.matmulFloatPicked(f16, f32(128), 2, new Int32Array(0), new Int32Array(0), f32(0));
    const q = i8r();
    k.encodeI8rRows(f16, q);
    k.matmulI8rI8(q, i8(64), f32(8));
    const bounds = f32(8);
    k.screenBoundsI8r(f16, q, bounds);
    expect(k.screenCandidates(f32(4), bounds, 1, 2, new Int32Array(4))).toBe(4);
    k.rmsNorm(x, 2, 256, f32(256), 1e-5, x);
    k.ropeNeox(f32(16), 1, 2, 8, 4, Int32Array.of(9), 1e4);
    k.softmax(f32(12), 3, 4);
    k.attention(att.q, att.kCache, att.vCache, att.shape, f32(64));
    k.reluSqrMul(x, x, x);
    k.siluMul(x, f32(512), x);
    k.add(x, x, x);
    k.scale(x, 0.5, x);
    k.toF16(x, new Uint16Array(512));
    expect(weigh(k, {})).toBe(10);
    expect(k.argmax(Float32Array.of(1, 3, 2))).toBe(1);
    expect(k.sumExp(Float32Array.of(0, -Infinity, 0), 0)).toBe(2);
    expect(calls).toEqual([
      'quantizeI8PerToken', 'matmulI2sI8', 'quantizeQ8K', 'matmulTq2_0Q8K', 'matmulTq1_0Q8K', 'quantizeQ8_0', 'matmulQ8_0Q8_0',
      'matmulFloat', 'getRows', 'matmulFloatPicked', 'matmulFloatPicked',
      'encodeI8rRows', 'matmulI8rI8', 'screenBoundsI8r', 'screenCandidates',
      'rmsNorm', 'ropeNeox', 'softmax', 'attention', 'reluSqrMul', 'siluMul', 'add', 'scale', 'toF16', 'weighLogits', 'argmax', 'sumExp',
    ]);
  });

  it('accepts typed arrays from another realm (Node Buffers seen from a sandbox)', () => {
    const foreign = vm.runInNewContext('new Uint8Array(n)', { n: f16.data.length }) as Uint8Array;
    foreign.set(f16.data);
    expect(foreign instanceof Uint8Array).toBe(false);
    const out = f32(64);
    new CheckedKernels(new TsKernels()).getRows({ ...f16, data: foreign }, Int32Array.of(1), out);
    expect(out.some((v) => v !== 0)).toBe(true);
  });

  it('allocates activation buffers of the right sizes, and rejects bad sizes', () => {
    const a = allocI8Activations(3, 128);
    expect([a.rows, a.cols, a.qs.length, a.scales.length, a.sums.length]).toEqual([3, 128, 384, 3, 3]);
    const b = allocQ8KActivations(2, 768);
    expect([b.rows, b.cols, b.qs.length, b.d.length, b.bsums.length]).toEqual([2, 768, 1536, 6, 96]);
    expect(() => allocQ8KActivations(2, 100)).toThrow(/^allocQ8KActivations: cols 100 is not a multiple of the Q8_K block size 256$/);
    expect(() => allocI8Activations(0, 128)).toThrow(KernelArgumentError);
    const c = allocQ8_0Activations(3, 96);
    expect([c.rows, c.cols, c.qs.length, c.d.length]).toEqual([3, 96, 288, 9]);
    expect(() => allocQ8_0Activations(1, 48)).toThrow(/^allocQ8_0Activations: cols 48 is not a multiple of the Q8_0 block size 32$/);
  });
});

describe('argument errors quote what was passed, briefly', () => {
  it('an array passed as a row count is named by kind and size, not printed item by item', () => {
    const k = new CheckedKernels(new TsKernels());
    const x = new Float32Array(2 * 2560).fill(1);
    let error: unknown;
    try {
      k.rmsNorm(x, x as unknown as number, 2560, new Float32Array(2560), 1e-5, new Float32Array(x.length));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KernelArgumentError);
    expect((error as Error).message).toBe('rmsNorm: rows must be an integer >= 1, got a Float32Array of 5120 elements');
  });
});
