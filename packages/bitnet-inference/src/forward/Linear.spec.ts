/**
 * Linear looks its kernel and activation format up in the kernels' tensor-type table; for every
 * type in it, the result must be what the explicit per-type calls give (per-token int8 for I2_S,
 * Q8_K for TQ1_0/TQ2_0, Q8_0 for Q8_0, f16/bf16-rounded x for F16/BF16, f32 x otherwise).
 */
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, GgmlType, quantize, quantizeTernary, SeededRandom } from '@bitnet/models';
import { allocI8Activations, allocQ8_0Activations, allocQ8KActivations, createKernels, FloatMatrix, Kernels, TENSOR_KERNELS, TernaryMatrix } from '@bitnet/kernels';
import type { WeightMatrix } from '../model/BitnetWeights';
import { Linear } from './Linear';

const N = 5;
const K = 512;
const M = 3;

function weights(type: GgmlType, rng: SeededRandom): WeightMatrix {
  const entry = TENSOR_KERNELS.get(type)!;
  if (entry.kind === 'ternary') {
    const trits = Int8Array.from({ length: N * K }, () => rng.int(3) - 1);
    const scales = type === GgmlType.I2_S ? 0.75 : Float32Array.from({ length: (N * K) / 256 }, () => 0.5 + rng.next());
    return { kind: 'ternary', type: type as TernaryMatrix['type'], data: quantizeTernary(type as TernaryMatrix['type'], trits, scales, K), rows: N, cols: K };
  }
  const values = Float32Array.from({ length: N * K }, () => rng.normal());
  return { kind: 'float', type: type as FloatMatrix['type'], data: quantize(type, values, K), rows: N, cols: K };
}

/** The per-type calls Linear made before the table. */
function explicit(k: Kernels, w: WeightMatrix, x: Float32Array, out: Float32Array): void {
  if (w.type === GgmlType.I2_S) {
    const a = allocI8Activations(M, K);
    k.quantizeI8PerToken(x, M, K, a);
    k.matmulI2sI8(w as TernaryMatrix, a, out);
  } else if (w.type === GgmlType.TQ1_0 || w.type === GgmlType.TQ2_0) {
    const a = allocQ8KActivations(M, K);
    k.quantizeQ8K(x, M, K, a);
    if (w.type === GgmlType.TQ2_0) k.matmulTq2_0Q8K(w as TernaryMatrix, a, out);
    else k.matmulTq1_0Q8K(w as TernaryMatrix, a, out);
  } else if (w.type === GgmlType.Q8_0) {
    const a = allocQ8_0Activations(M, K);
    k.quantizeQ8_0(x, M, K, a);
    k.matmulQ8_0Q8_0(w as FloatMatrix, a, out);
  } else {
    const round = w.type === GgmlType.F16 ? (v: number) => f16ToF32(f32ToF16(v)) : w.type === GgmlType.BF16 ? (v: number) => bf16ToF32(f32ToBf16(v)) : (v: number) => v;
    k.matmulFloat(w as FloatMatrix, Float32Array.from(x, round), M, out);
  }
}

describe('Linear', () => {
  const kernels = createKernels();

  /** Each matrix through `apply` on its own: what applyAll must give. */
  const appliedOneByOne = (ws: WeightMatrix[], x: Float32Array, scales: number[]) =>
    ws.map((w, j) => {
      const out = new Float32Array(M * N);
      new Linear(kernels).apply(w, x, M, out, scales[j]);
      return out;
    });

  /** The kernels, recording the name of every kernel called into `calls`. */
  const countingCalls = (k: Kernels, calls: string[]): Kernels =>
    new Proxy(k, {
      get: (t, p) => {
        const v = t[p as keyof Kernels];
        return typeof v === 'function' ? (...a: unknown[]) => (calls.push(String(p)), (v as (...b: unknown[]) => unknown).apply(t, a)) : v;
      },
    });
  it.each([...TENSOR_KERNELS.values()].map((e) => [e.name, e.type] as const))('%s: the table gives the explicit per-type result, twice (reused buffers), and scales', (_name, type) => {
    const rng = new SeededRandom(type + 1);
    const w = weights(type, rng);
    const x = Float32Array.from({ length: M * K }, () => rng.normal() * 2);
    const want = new Float32Array(M * N);
    explicit(kernels, w, x, want);
    const linear = new Linear(kernels);
    for (let round = 0; round < 2; round++) {
      const got = new Float32Array(M * N);
      linear.apply(w, x, M, got);
      expect(got).toEqual(want);
    }
    const scaled = new Float32Array(M * N);
    linear.apply(w, x, M, scaled, 0.5);
    expect(scaled).toEqual(Float32Array.from(want, (v) => Math.fround(v * 0.5)));
  });

  it.each([GgmlType.I2_S, GgmlType.TQ2_0, GgmlType.TQ1_0])('applyAll of one ternary type (%s): one quantize, one matmulTernaryMany, what apply gives', (type) => {
    const rng = new SeededRandom(90 + type);
    const ws = [weights(type, rng), weights(type, rng), weights(type, rng)];
    const x = Float32Array.from({ length: M * K }, () => rng.normal() * 2);
    const scales = [1, 0.25, -3];
    const want = appliedOneByOne(ws, x, scales);
    const calls: string[] = [];
    const counting = countingCalls(kernels, calls);
    // outputs longer than needed (workspace buffers): only their first rows × N values are written
    const outs = ws.map(() => new Float32Array(M * N + 5).fill(7));
    new Linear(counting).applyAll(ws, x, M, outs, scales);
    outs.forEach((o, j) => {
      expect(o.subarray(0, M * N)).toEqual(want[j]);
      expect(Array.from(o.subarray(M * N))).toEqual([7, 7, 7, 7, 7]);
    });
    expect(calls).toEqual([type === GgmlType.I2_S ? 'quantizeI8PerToken' : 'quantizeQ8K', 'matmulTernaryMany']);
  });

  it('applyAll prepares x once per activation format and gives every matrix what apply gives', () => {
    const rng = new SeededRandom(77);
    // three matrices in one format, one in another between them, one in a third: x is prepared 3 times
    const types = [GgmlType.TQ2_0, GgmlType.TQ2_0, GgmlType.I2_S, GgmlType.TQ2_0, GgmlType.F32];
    const ws = types.map((t) => weights(t, rng));
    const x = Float32Array.from({ length: M * K }, () => rng.normal() * 2);
    const scales = [1, 0.25, 1, 3, 0.5];
    const want = appliedOneByOne(ws, x, scales);
    const calls: string[] = [];
    const outs = ws.map(() => new Float32Array(M * N));
    new Linear(countingCalls(kernels, calls)).applyAll(ws, x, M, outs, scales);
    outs.forEach((o, j) => expect(o).toEqual(want[j]));
    expect(calls.filter((c) => c.startsWith('quantize'))).toEqual(['quantizeQ8K', 'quantizeI8PerToken', 'quantizeQ8K']);
    expect(() => new Linear(kernels).applyAll([ws[0], { ...ws[1], cols: K * 2 }], x, M, outs, [1, 1])).toThrow(RangeError);
  });

  it.each([...TENSOR_KERNELS.values()].map((e) => [e.name, e.type, e.kernel] as const))('%s: a scale rides along with an integer matmul (no scale call)', (_name, type, kernel) => {
    const calls: string[] = [];
    const counted = countingCalls(kernels, calls);
    const rng = new SeededRandom(type + 7);
    const w = weights(type, rng);
    const x = Float32Array.from({ length: M * K }, () => rng.normal());
    new Linear(counted).apply(w, x, M, new Float32Array(M * N), 0.25);
    expect(calls.filter((c) => c.startsWith('matmul') || c === 'scale')).toEqual(kernel === 'matmulFloat' ? ['matmulFloat', 'scale'] : [kernel]);
  });
});
