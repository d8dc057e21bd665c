/**
 * The integer matmuls' optional output scale (api/Kernels.ts): a call with `scale` gives bit for bit
 * the matmul followed by the `scale` kernel, for every ternary type and Q8_0, on the TypeScript
 * kernels and on every native instruction set (the SIMDe-emulated AVX-512 addon included), on shapes
 * that run inline and on the thread pool; TensorKernels' matmul carries it for every weight type.
 */
import { GgmlType } from '@bitnet/models';
import { rng } from '@bitnet/models/testing';
import { ACTIVATION_FORMATS } from '../api/ActivationFormats';
import type { FloatMatrix, I8Activations, Kernels, Q8_0Activations, Q8KActivations, TernaryMatrix } from '../api/Kernels';
import { TENSOR_KERNELS } from '../api/TensorKernels';
import { floatCase, makeI2S, makeI8, makeQ8_0, makeQ8K, makeTQ1, makeTQ2, randomFloats, ternaryCase } from '../testing/kernelCases';
import { describeNativeIsas } from '../testing/kernelIsaVariants';
import { TsKernels } from '../ts/TsKernels';

type Name = 'matmulI2sI8' | 'matmulTq2_0Q8K' | 'matmulTq1_0Q8K' | 'matmulQ8_0Q8_0';
interface Case {
  w: TernaryMatrix | FloatMatrix;
  a: I8Activations | Q8KActivations | Q8_0Activations;
  N: number;
  M: number;
}
type Call = (k: Kernels, c: Case, out: Float32Array, scale?: number) => void;

const CALLS: Record<Name, Call> = {
  matmulI2sI8: (k, c, out, s) => k.matmulI2sI8(c.w as TernaryMatrix, c.a as I8Activations, out, s),
  matmulTq2_0Q8K: (k, c, out, s) => k.matmulTq2_0Q8K(c.w as TernaryMatrix, c.a as Q8KActivations, out, s),
  matmulTq1_0Q8K: (k, c, out, s) => k.matmulTq1_0Q8K(c.w as TernaryMatrix, c.a as Q8KActivations, out, s),
  matmulQ8_0Q8_0: (k, c, out, s) => k.matmulQ8_0Q8_0(c.w as FloatMatrix, c.a as Q8_0Activations, out, s),
};

function makeCase(name: Name, next: () => number, N: number, K: number, M: number): Case {
  switch (name) {
    case 'matmulI2sI8':
      return { w: makeI2S(next, N, K, 'any'), a: makeI8(next, M, K, 'random'), N, M };
    case 'matmulTq2_0Q8K':
      return { w: makeTQ2(next, N, K, 'any'), a: makeQ8K(next, M, K, 'random'), N, M };
    case 'matmulTq1_0Q8K':
      return { w: makeTQ1(next, N, K, 'any'), a: makeQ8K(next, M, K, 'random'), N, M };
    case 'matmulQ8_0Q8_0': {
      const x = randomFloats(next, M * K, 3);
      const a: Q8_0Activations = { rows: M, cols: K, qs: new Int8Array(M * K), d: new Float32Array((M * K) / 32) };
      new TsKernels().quantizeQ8_0(x, M, K, a);
      return { w: makeQ8_0(next, N, K), a, N, M };
    }
  }
}

// N, K, M: inline, odd, and large enough for the thread pool (decode and prefill).
const SHAPES: Array<[number, number, number]> = [[5, 256, 3], [33, 768, 1], [300, 2048, 1], [1024, 1024, 2], [200, 512, 7]];
// A plain scale, the tensor scales' kind of value, negative, tiny (subnormal products), huge (overflow to ±Inf), 0 and 1.
const SCALES = [0.5, 1.7320508, -3.25, 1e-40, 3e38, 0, 1];

const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);

/** Every scale: the fused call equals the unfused call then `scale`, bit for bit. */
function expectFusedEqualsScaled(k: Kernels, name: Name, c: Case): void {
  const plain = new Float32Array(c.M * c.N);
  CALLS[name](k, c, plain);
  const fused = new Float32Array(c.M * c.N);
  for (const s of SCALES) {
    fused.fill(NaN);
    CALLS[name](k, c, fused, s);
    const want = plain.slice();
    k.scale(want, s, want);
    expect(bits(fused)).toEqual(bits(want));
  }
}

const NAMES: Name[] = ['matmulI2sI8', 'matmulTq2_0Q8K', 'matmulTq1_0Q8K', 'matmulQ8_0Q8_0'];

describe('integer matmuls with an output scale — TS kernels', () => {
  it.each(NAMES)('%s: fused == matmul then scale, bit for bit', (name) => {
    const next = rng(31);
    for (const [N, K, M] of [[5, 256, 3], [17, 512, 2]]) expectFusedEqualsScaled(new TsKernels(), name, makeCase(name, next, N, K, M));
  });

  it('TensorKernels.matmul carries the scale for every weight type (float types through a scale call)', () => {
    const k = new TsKernels();
    for (const entry of TENSOR_KERNELS.values()) {
      const m = entry.kind === 'ternary' ? ternaryCase(entry.type as TernaryMatrix['type'], 6, 512, 2, 41) : floatCase(entry.type as FloatMatrix['type'], 6, 512, 2, 42);
      const format = ACTIVATION_FORMATS[entry.activation];
      const x = randomFloats(rng(43), 2 * 512, 2);
      const a = format.prepare(k, x, 2, 512, format.alloc(2, 512));
      const plain = new Float32Array(12);
      entry.matmul(k, m.w, a, 2, plain);
      for (const s of [0.75, -2, 1]) {
        const fused = new Float32Array(12);
        entry.matmul(k, m.w, a, 2, fused, s);
        const want = plain.slice();
        k.scale(want, s, want);
        expect(bits(fused)).toEqual(bits(want));
      }
    }
    expect(TENSOR_KERNELS.get(GgmlType.F16)?.kernel).toBe('matmulFloat');
  });
});

describeNativeIsas('integer matmuls with an output scale', ({ k }) => {
  it.each(NAMES)('%s: fused == matmul then scale, bit for bit, and == the TS kernels', (name) => {
    const next = rng(32);
    const ts = new TsKernels();
    for (const [N, K, M] of SHAPES) {
      const c = makeCase(name, next, N, K, M);
      expectFusedEqualsScaled(k, name, c);
      if (N * K * M <= 1 << 19) {
        const got = new Float32Array(M * N);
        const t = new Float32Array(M * N);
        CALLS[name](k, c, got, -3.25);
        CALLS[name](ts, c, t, -3.25);
        expect(bits(got)).toEqual(bits(t));
      }
    }
  });
});
