import { randomF32 } from '../testing/kernelCases';
import { kernelsUnderTest } from '../testing/kernelsUnderTest';

/** float64 RMSNorm: x / sqrt(mean(x²) + eps) · w. */
function reference(x: Float32Array, rows: number, cols: number, w: Float32Array, eps: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = 0; i < cols; i++) ss += x[r * cols + i] ** 2;
    const inv = 1 / Math.sqrt(ss / cols + eps);
    for (let i = 0; i < cols; i++) out[r * cols + i] = x[r * cols + i] * inv * w[i];
  }
  return out;
}

function expectRelClose(got: Float32Array, want: Float64Array, rel = 1e-5): void {
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= rel * Math.abs(want[i]))) throw new Error(`element ${i}: got ${got[i]}, want ${want[i]}`);
  }
}

describe.each(kernelsUnderTest())('rmsNorm [%s]', (_label, kernels) => {
  it.each([
    [1, 1],
    [1, 7],
    [3, 64],
    [5, 2560],
  ])('within 1e-5 of float64: %i rows × %i', (rows, cols) => {
    const x = randomF32(rows * cols, rows + cols, 3);
    const w = randomF32(cols, cols);
    const out = new Float32Array(rows * cols);
    kernels.rmsNorm(x, rows, cols, w, 1e-5, out);
    expectRelClose(out, reference(x, rows, cols, w, 1e-5));
  });

  it('normalizes each row on its own, eps dominates tiny rows, zero rows stay zero, in place works', () => {
    const cols = 4;
    const x = Float32Array.of(3, -4, 0, 0, 1e3, 1e3, -1e3, 1e3, 1e-4, 0, 0, 0, 0, 0, 0, 0);
    const w = Float32Array.of(1, 2, 0.5, -1);
    const out = new Float32Array(16);
    kernels.rmsNorm(x, 4, cols, w, 1e-6, out);
    expectRelClose(out, reference(x, 4, cols, w, 1e-6));
    expect(out[0]).toBeCloseTo(3 / Math.sqrt(25 / 4), 5);
    expect(out[4]).toBeCloseTo(1, 5);
    expect(Array.from(out.subarray(12), (v) => v + 0)).toEqual([0, 0, 0, 0]); // ±0 (w may be negative)
    kernels.rmsNorm(x, 4, cols, w, 1e-6, x); // out === x
    expect(Array.from(x)).toEqual(Array.from(out));
  });
});
