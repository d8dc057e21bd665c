import { randomF32 } from '../testing/kernelCases';
import { kernelsUnderTest } from '../testing/kernelsUnderTest';

function expectRelClose(got: Float32Array, want: (i: number) => number, rel = 1e-5): void {
  for (let i = 0; i < got.length; i++) {
    const w = want(i);
    if (!(Math.abs(got[i] - w) <= rel * Math.abs(w))) throw new Error(`element ${i}: got ${got[i]}, want ${w}`);
  }
}

describe.each(kernelsUnderTest())('element-wise kernels [%s]', (_label, kernels) => {
  const n = 1031;
  const gate = randomF32(n, 1, 4);
  gate.set([0, -0, 30, -30, 88, -88, 1e-8]);
  const up = randomF32(n, 2, 2);
  const out = new Float32Array(n);

  it('reluSqrMul = max(gate, 0)² · up', () => {
    kernels.reluSqrMul(gate, up, out);
    expectRelClose(out, (i) => Math.max(gate[i], 0) ** 2 * up[i]);
    expect(out[3] + 0).toBe(0); // ±0
  });

  it('siluMul = gate / (1 + e^−gate) · up, finite at large |gate|', () => {
    kernels.siluMul(gate, up, out);
    expectRelClose(out, (i) => (gate[i] / (1 + Math.exp(-gate[i]))) * up[i]);
    expect(Number.isFinite(out[5])).toBe(true);
  });

  it('add = a + b, and every kernel works in place', () => {
    kernels.add(gate, up, out);
    expectRelClose(out, (i) => gate[i] + up[i], 1e-7);
    const a = Float32Array.of(1, 2, 3);
    kernels.add(a, a, a);
    expect(Array.from(a)).toEqual([2, 4, 6]);
    kernels.reluSqrMul(a, Float32Array.of(1, -1, 0.5), a);
    expect(Array.from(a)).toEqual([4, -16, 18]);
    const s = Float32Array.of(0, 1);
    kernels.siluMul(s, Float32Array.of(1, 2), s);
    expect(s[1]).toBeCloseTo(2 / (1 + Math.exp(-1)), 6);
  });
});
