import { randomF32 } from '../testing/kernelCases';
import { kernelsUnderTest } from '../testing/kernelsUnderTest';

/**
 * float64 NEOX RoPE with ggml's angles: θ_0 = p, θ_{i+1} = f32(θ_i · f32(base^(−2/ropeDim))) — the
 * f32 iteration llama.cpp uses (and the contract), written independently of the kernel.
 */
function ggmlTheta(p: number, i: number, ropeDim: number, base: number): number {
  const s = Math.fround(Math.pow(Math.fround(base), Math.fround(-2 / ropeDim)));
  let theta = Math.fround(p);
  for (let k = 0; k < i; k++) theta = Math.fround(theta * s);
  return theta;
}

function reference(x: Float32Array, tokens: number, heads: number, D: number, ropeDim: number, pos: Int32Array, base: number): Float64Array {
  const out = Float64Array.from(x);
  const half = ropeDim / 2;
  for (let t = 0; t < tokens; t++) {
    for (let h = 0; h < heads; h++) {
      const o = (t * heads + h) * D;
      for (let i = 0; i < half; i++) {
        const theta = ggmlTheta(pos[t], i, ropeDim, base);
        const [a, b] = [x[o + i], x[o + i + half]];
        out[o + i] = a * Math.cos(theta) - b * Math.sin(theta);
        out[o + i + half] = a * Math.sin(theta) + b * Math.cos(theta);
      }
    }
  }
  return out;
}

describe.each(kernelsUnderTest())('ropeNeox [%s]', (_label, kernels) => {
  it.each([
    // tokens, heads, headDim, ropeDim, positions, base
    [1, 1, 2, 2, [0], 10000],
    [1, 1, 2, 2, [5], 10000],
    [3, 4, 8, 8, [0, 1, 2], 10000],
    [2, 3, 10, 6, [7, 4095], 500000],
    [4, 20, 128, 128, [0, 17, 4096, 131071], 500000],
  ])('within 1e-5 of float64 (pairs i, i + ropeDim/2; large positions): %i tokens, %i heads, %i dims, rope %i', (tokens, heads, D, ropeDim, positions, base) => {
    const pos = Int32Array.from(positions as number[]);
    const x = randomF32(tokens * heads * D, D + tokens, 2);
    const want = reference(x, tokens, heads, D, ropeDim, pos, base as number);
    kernels.ropeNeox(x, tokens, heads, D, ropeDim, pos, base as number);
    const half = ropeDim / 2;
    for (let i = 0; i < x.length; i++) {
      const d = i % D;
      if (d >= ropeDim) {
        expect(x[i]).toBe(want[i]); // beyond ropeDim: untouched
        continue;
      }
      const o = i - d;
      const pair = Math.abs(want[o + (d % half)]) + Math.abs(want[o + (d % half) + half]);
      if (!(Math.abs(x[i] - want[i]) <= 1e-5 * pair)) throw new Error(`element ${i}: got ${x[i]}, want ${want[i]}`);
    }
  });

  it('uses f32 angles as ggml does (they drift from the exact p·base^(−2i/d) at large positions)', () => {
    const pos = Int32Array.of(131071);
    const x = new Float32Array(128);
    x[2] = 1; // pair (2, 66)
    kernels.ropeNeox(x, 1, 1, 128, 128, pos, 500000);
    const ggml = ggmlTheta(131071, 2, 128, 500000);
    const exact = 131071 * 500000 ** (-4 / 128);
    expect(Math.abs(ggml - exact)).toBeGreaterThan(1e-3); // the two angles really differ here
    expect(x[2]).toBeCloseTo(Math.cos(ggml), 5);
    expect(x[66]).toBeCloseTo(Math.sin(ggml), 5);
  });

  it('rotates (x[i], x[i + d/2]) by p·base^(−2i/d), not adjacent pairs', () => {
    // headDim 4: pairs (0, 2) with θ = p and (1, 3) with θ = p / 100.
    const x = Float32Array.of(1, 0, 0, 1);
    kernels.ropeNeox(x, 1, 1, 4, 4, Int32Array.of(2), 10000);
    const expected = [Math.cos(2), -Math.sin(0.02), Math.sin(2), Math.cos(0.02)];
    expected.forEach((v, i) => expect(x[i]).toBeCloseTo(v, 6));
  });
});
