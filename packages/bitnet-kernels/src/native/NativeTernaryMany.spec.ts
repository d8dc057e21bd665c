/**
 * matmulTernaryMany (api/Kernels.ts): several ternary matrices of one type times the same activations
 * in one call give each matrix, bit for bit, its type's single call with the same output scale — on
 * the TypeScript kernels and on every native instruction set (SIMDe-emulated AVX-512 included), for
 * decode (1 row), batches and prefill chunks, on parts small enough to run inline and large enough to
 * be split over the pool with split points inside and across parts. CheckedKernels rejects mixed
 * types or widths, missing or overlapping outputs, bad scales, naming the matrix; the raw binding
 * refuses short buffers with an error instead of reading past them.
 */
import { rng } from '@bitnet/models/testing';
import { CheckedKernels } from '../api/CheckedKernels';
import { KernelArgumentError } from '../api/KernelArgumentError';
import type { I8Activations, Kernels, Q8KActivations, TernaryMatrix } from '../api/Kernels';
import { ternaryMatmulCall } from '../api/TensorKernels';
import { makeI2S, makeI8, makeQ8K, makeTQ1, makeTQ2 } from '../testing/kernelCases';
import { describeNativeIsas } from '../testing/kernelIsaVariants';
import { TsKernels } from '../ts/TsKernels';

type Kind = 'I2_S' | 'TQ2_0' | 'TQ1_0';
const KINDS: Kind[] = ['I2_S', 'TQ2_0', 'TQ1_0'];

interface ManyCase {
  ws: TernaryMatrix[];
  a: I8Activations | Q8KActivations;
  scales: number[];
}

function makeMany(kind: Kind, next: () => number, rows: number[], K: number, M: number): ManyCase {
  const make = kind === 'I2_S' ? makeI2S : kind === 'TQ2_0' ? makeTQ2 : makeTQ1;
  const ws = rows.map((N) => make(next, N, K, 'any'));
  const a = kind === 'I2_S' ? makeI8(next, M, K, 'random') : makeQ8K(next, M, K, 'random');
  // 1 (no multiply), plain, negative, a tensor scale's kind of value
  const scales = rows.map((_, j) => [1, 0.5, -3.25, 1.7320508][j % 4]);
  return { ws, a, scales };
}

const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);

/** The many-call's outputs equal each matrix's single call (with and without scales). */
function expectManyEqualsSingles(k: Kernels, c: ManyCase): void {
  const M = c.a.rows;
  for (const scales of [c.scales, undefined]) {
    const outs = c.ws.map((w) => new Float32Array(M * w.rows).fill(NaN));
    k.matmulTernaryMany(c.ws, c.a, outs, scales);
    c.ws.forEach((w, j) => {
      const want = new Float32Array(M * w.rows);
      ternaryMatmulCall(k, w, c.a, want, scales?.[j]);
      expect(bits(outs[j])).toEqual(bits(want));
    });
  }
}

// rows of the parts (a layer's Q, K, V: 2560, 640, 640 scaled down; gate and up; odd sizes; one part), K, M
const SHAPES: Array<[number[], number, number]> = [
  [[5, 3], 256, 1],
  [[64, 16, 16], 512, 1],
  [[640, 160, 160], 2560, 1],
  [[37, 300, 11, 1], 768, 3],
  [[700, 700], 1024, 8],
  [[256, 64, 64], 512, 13],
  [[1200], 512, 2],
];

describe('matmulTernaryMany — TS kernels', () => {
  it.each(KINDS)('%s: each matrix gets its single call\'s bits', (kind) => {
    const next = rng(61);
    for (const [rows, K, M] of [[[5, 3], 256, 1], [[7, 2, 9], 512, 3]] as Array<[number[], number, number]>) expectManyEqualsSingles(new TsKernels(), makeMany(kind, next, rows, K, M));
  });
});

describeNativeIsas('matmulTernaryMany', ({ k }) => {
  it.each(KINDS)('%s: each matrix gets its single call\'s bits (decode, batches, prefill; inline and pooled)', (kind) => {
    const next = rng(62);
    for (const [rows, K, M] of SHAPES) expectManyEqualsSingles(k, makeMany(kind, next, rows, K, M));
  });
});

describe('matmulTernaryMany — argument checks', () => {
  const k = new CheckedKernels(new TsKernels());
  const next = rng(63);
  const c = makeMany('TQ2_0', next, [6, 4], 256, 2);
  const outs = () => c.ws.map((w) => new Float32Array(2 * w.rows));
  const thrown = (f: () => void): KernelArgumentError => {
    try {
      f();
    } catch (e) {
      if (e instanceof KernelArgumentError) return e;
      throw e;
    }
    throw new Error('no KernelArgumentError');
  };

  it('names the call and the matrix at fault', () => {
    expect(thrown(() => k.matmulTernaryMany([], c.a, [])).message).toMatch(/^matmulTernaryMany: ws must be a non-empty array/);
    expect(thrown(() => k.matmulTernaryMany(c.ws, c.a, outs().slice(0, 1))).argument).toBe('outs');
    expect(thrown(() => k.matmulTernaryMany(c.ws, c.a, outs(), [1])).argument).toBe('scales');
    expect(thrown(() => k.matmulTernaryMany(c.ws, c.a, outs(), [1, NaN])).argument).toBe('[1] scale');
    const short = outs();
    short[1] = new Float32Array(3);
    const e = thrown(() => k.matmulTernaryMany(c.ws, c.a, short));
    expect(e.kernel).toBe('matmulTernaryMany');
    expect(e.argument).toBe('[1] out');
    const i2s = makeI2S(next, 4, 256, 'any');
    expect(thrown(() => k.matmulTernaryMany([c.ws[0], i2s], c.a, outs())).argument).toBe('ws[1].type');
    const wide = makeTQ2(next, 4, 512, 'any');
    expect(thrown(() => k.matmulTernaryMany([c.ws[0], wide], c.a, outs())).argument).toMatch(/^\[1\] /);
    const shared = new Float32Array(2 * 6);
    expect(thrown(() => k.matmulTernaryMany([c.ws[0], c.ws[0]], c.a, [shared, shared.subarray(0, 12)])).message).toMatch(/outs\[1\] overlaps outs\[0\]/);
    expect(thrown(() => k.matmulTernaryMany([{ type: 0 } as unknown as TernaryMatrix], c.a, [new Float32Array(1)])).argument).toBe('ws[0].type');
  });
});

describeNativeIsas('matmulTernaryMany — the binding alone', ({ k }) => {
  it('refuses buffers shorter than the shapes say, with an error and no read past them', () => {
    const addon = (k as unknown as { addon: import('./addon').NativeAddon }).addon;
    const next = rng(64);
    const c = makeMany('I2_S', next, [8, 4], 256, 2);
    const a = c.a as I8Activations;
    const ok = (): Parameters<typeof addon.matmulTernaryMany> => [c.ws[0].type, c.ws.map((w) => w.data), Int32Array.from([8, 4]), 256, a.qs, a.scales, a.sums, 2, [new Float32Array(16), new Float32Array(8)], Float32Array.from([1, 1])];
    expect(() => addon.matmulTernaryMany(...ok())).not.toThrow();
    const cases: Array<(args: Parameters<typeof addon.matmulTernaryMany>) => void> = [
      (x) => (x[2] = Int32Array.from([9, 4])), // more rows than ws[0] holds
      (x) => (x[8] = [new Float32Array(16), new Float32Array(7)]), // outs[1] short
      (x) => (x[4] = a.qs.subarray(0, 100)), // activations short
      (x) => (x[6] = new Int32Array(1)), // sums short
      (x) => (x[0] = 1), // not a ternary type (F16)
      (x) => (x[9] = Float32Array.from([1, Infinity])),
      (x) => (x[1] = [c.ws[0].data]), // outs / rows say 2 matrices, ws 1: rows checked against ws, outs against ws
    ];
    for (const mutate of cases) {
      const args = ok();
      mutate(args);
      expect(() => addon.matmulTernaryMany(...args)).toThrow(/matmulTernaryMany/);
    }
  });
});
