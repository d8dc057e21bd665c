import { f16ToF32, f32ToF16 } from '@bitnet/models';
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

  it('scale = x · fround(s), in place too', () => {
    kernels.scale(gate, 0.7, out);
    const s = Math.fround(0.7);
    for (let i = 0; i < n; i++) expect(out[i]).toBe(Math.fround(gate[i] * s));
    const a = Float32Array.of(1, -2, 3);
    kernels.scale(a, -0.5, a);
    expect(Array.from(a)).toEqual([-0.5, 1, -1.5]);
  });

  it('toF16 rounds to nearest even: ties, overflow, subnormals, signed zeros, NaN', () => {
    const x = Float32Array.from([
      ...gate,
      1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65520, 65519.996, -1e6, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -26, -0, 0, Infinity, -Infinity, 6.1e-5, -3e-7,
    ]);
    const h = new Uint16Array(x.length);
    kernels.toF16(x, h);
    for (let i = 0; i < x.length; i++) expect([i, h[i]]).toEqual([i, f32ToF16(x[i])]);
    expect(h[n]).toBe(0x3c00); // 1 + 2^-11 is a tie: even mantissa 0
    expect(h[n + 1]).toBe(0x3c02);
    expect(h[n + 3]).toBe(0x7c00); // 65520 overflows to +Inf
    expect(f16ToF32(h[n + 6])).toBe(2 ** -24);
    expect(h[n + 10]).toBe(0x8000);
    const nan = new Uint16Array(1);
    kernels.toF16(Float32Array.of(NaN), nan);
    expect(Number.isNaN(f16ToF32(nan[0]))).toBe(true);
  });
});
