/**
 * The native kernels, every instruction set this machine can run (see testing/kernelIsaVariants.ts):
 * rmsNorm, softmax, scale, toF16, the element-wise kernels and NEOX RoPE.
 */
import { f32ToF16 } from '@bitnet/models';
import { rng } from '@bitnet/models/testing';
import { int, randomFloats } from '../testing/kernelCases';
import { describeNativeIsas, tsKernels } from '../testing/kernelIsaVariants';
import { expectClose } from '../testing/kernelReferences';

const fround = Math.fround;

describeNativeIsas('native element-wise, norm and rope kernels', ({ k, generic }) => {
  it('rmsNorm of many rows (four at a time, then the rest): every row bit for bit as alone, as generic and TS', () => {
    const next = rng(19);
    for (const [rows, cols] of [[4, 2560], [9, 37], [8, 6912], [6, 3], [64, 2560]]) {
      const x = randomFloats(next, rows * cols, 3);
      const w = randomFloats(next, cols, 1.5);
      const got = new Float32Array(rows * cols);
      k.rmsNorm(x, rows, cols, w, 1e-5, got);
      for (let r = 0; r < rows; r++) {
        const one = new Float32Array(cols);
        k.rmsNorm(x.subarray(r * cols, (r + 1) * cols), 1, cols, w, 1e-5, one);
        expect(got.subarray(r * cols, (r + 1) * cols)).toEqual(one);
      }
      const g = new Float32Array(rows * cols);
      generic(() => k.rmsNorm(x, rows, cols, w, 1e-5, g));
      expect(got).toEqual(g);
      if (tsKernels) {
        const t = new Float32Array(rows * cols);
        tsKernels.rmsNorm(x, rows, cols, w, 1e-5, t);
        expect(got).toEqual(t);
      }
    }
  });

  it('rmsNorm: the element-order double sum decides the mean even where a sum in another order rounds to another f32', () => {
    // 640 × 2² + (3·2⁻⁸)² + (2⁻⁸)² = 2560 + 10·2⁻¹⁶, so the mean square is 1 + 2⁻²⁴: a tie that f32 rounds
    // down to 1. In element order, each later 2⁻⁴⁴ is below half an ulp of the running sum and vanishes;
    // summed apart from the large terms (as lanes or pairs would) they lift the mean above the tie, to
    // 1 + 2⁻²³ in f32. With eps 1e-4 the two means give different f32 scales.
    const cols = 2560;
    const x = new Float32Array(cols).fill(2 ** -22);
    x.fill(2, 0, 640);
    x[640] = 3 * 2 ** -8;
    x[641] = 2 ** -8;
    const w = new Float32Array(cols).fill(1);
    let seq = 0;
    for (const v of x) seq += fround(v * v);
    let split = 0;
    for (let i = 642; i < cols; i++) split += fround(x[i] * x[i]);
    for (let i = 0; i < 642; i++) split += fround(x[i] * x[i]);
    expect(fround(seq / cols)).toBe(1);
    expect(fround(split / cols)).toBe(1 + 2 ** -23);
    const eps = 1e-4;
    const scaled = (mean: number) => fround(2 * fround(1 / fround(Math.sqrt(fround(mean + fround(eps))))));
    expect(scaled(1)).not.toBe(scaled(1 + 2 ** -23));

    for (const rows of [1, 4]) {
      const xs = new Float32Array(rows * cols);
      for (let r = 0; r < rows; r++) xs.set(x, r * cols);
      const got = new Float32Array(rows * cols);
      k.rmsNorm(xs, rows, cols, w, eps, got);
      for (let r = 0; r < rows; r++) expect(got[r * cols]).toBe(scaled(1));
      const g = new Float32Array(rows * cols);
      generic(() => k.rmsNorm(xs, rows, cols, w, eps, g));
      expect(got).toEqual(g);
    }
  });

  it('rmsNorm over rows of every length and magnitudes spread over 2^±60: bit for bit as generic', () => {
    const next = rng(23);
    for (let rep = 0; rep < 120; rep++) {
      const cols = 1 + int(next, rep < 80 ? 80 : 7000);
      const rows = 1 + int(next, 6);
      const x = new Float32Array(rows * cols);
      for (let i = 0; i < x.length; i++) x[i] = (next() - 0.5) * 2 ** (int(next, 121) - 60);
      const w = randomFloats(next, cols, 2);
      const eps = [0, 1e-6, 1e-5][rep % 3];
      const got = new Float32Array(rows * cols);
      k.rmsNorm(x, rows, cols, w, eps, got);
      const g = new Float32Array(rows * cols);
      generic(() => k.rmsNorm(x, rows, cols, w, eps, g));
      expect(got).toEqual(g);
    }
  });

  it('rmsNorm, softmax, reluSqrMul, siluMul, add: within 1e-5 of double references, generic and TS', () => {
    const next = rng(18);
    // 13 × 6911: the element-wise kernels on the pool (≥ 2^16 values; pieces of 4096, a partial last one)
    for (const [rows, cols] of [[1, 1], [2, 7], [3, 2560], [1, 6912], [2, 21], [13, 6911]]) {
      const n = rows * cols;
      const x = randomFloats(next, n, 3);
      // lanes outside v_expf's fast range (|x·log2 e| > 126) and signed zeros, inside 8-lane vectors and in the tails
      if (n >= 16) x.set([-0, 0, 100, -100, 88.5, -88.5, 1e-30, -1e-30, -95, 0.5, -0, 120], 3);
      const w = randomFloats(next, cols, 1.5);
      const got = new Float32Array(n);
      k.rmsNorm(x, rows, cols, w, 1e-5, got);
      const want = new Float64Array(n);
      for (let r = 0; r < rows; r++) {
        let ss = 0;
        for (let i = 0; i < cols; i++) ss += x[r * cols + i] ** 2;
        const s = 1 / Math.sqrt(ss / cols + 1e-5);
        for (let i = 0; i < cols; i++) want[r * cols + i] = x[r * cols + i] * s * w[i];
      }
      expectClose(got, want, Array.from(want, (v) => Math.max(Math.abs(v), 1e-6)), 1e-5, 'rmsNorm');
      const inPlace = Float32Array.from(x);
      k.rmsNorm(inPlace, rows, cols, w, 1e-5, inPlace);
      expect(inPlace).toEqual(got);

      const sm = Float32Array.from(x);
      k.softmax(sm, rows, cols);
      const smWant = new Float64Array(n);
      for (let r = 0; r < rows; r++) {
        let mx = -Infinity;
        for (let i = 0; i < cols; i++) mx = Math.max(mx, x[r * cols + i]);
        let s = 0;
        for (let i = 0; i < cols; i++) s += Math.exp(x[r * cols + i] - mx);
        for (let i = 0; i < cols; i++) smWant[r * cols + i] = Math.exp(x[r * cols + i] - mx) / s;
      }
      expectClose(sm, smWant, Array.from(smWant, (v) => Math.max(v, 1e-30)), 1e-5, 'softmax');

      const up = randomFloats(next, n, 2);
      const sc = new Float32Array(n);
      k.scale(x, 1.7, sc);
      expect(sc).toEqual(Float32Array.from(x, (v) => Math.fround(v * Math.fround(1.7))));
      const h = new Uint16Array(n);
      k.toF16(x, h);
      expect(h).toEqual(Uint16Array.from(x, (v) => f32ToF16(v)));
      const ops: Array<['reluSqrMul' | 'siluMul' | 'add', (g: number, u: number) => number]> = [
        ['reluSqrMul', (g, u) => Math.max(g, 0) ** 2 * u],
        ['siluMul', (g, u) => (g / (1 + Math.exp(-g))) * u],
        ['add', (g, u) => g + u],
      ];
      for (const [op, f] of ops) {
        const o = new Float32Array(n);
        k[op](x, up, o);
        const e = Array.from(x, (g, i) => f(g, up[i]));
        expectClose(o, e, e.map((v) => Math.max(Math.abs(v), 1e-6)), 1e-5, op);
        if (tsKernels) {
          const t = new Float32Array(n);
          tsKernels[op](x, up, t);
          expectClose(o, t, e.map((v) => Math.max(Math.abs(v), 1e-6)), 1e-5, `${op} vs TS`);
          expect(o).toEqual(t); // ggml's f32 arithmetic (v_expf for silu) in both
        }
      }
      if (tsKernels) {
        const t = new Float32Array(n);
        tsKernels.rmsNorm(x, rows, cols, w, 1e-5, t);
        expectClose(got, t, Array.from(want, (v) => Math.max(Math.abs(v), 1e-6)), 1e-5, 'rmsNorm vs TS');
        const ts = Float32Array.from(x);
        tsKernels.softmax(ts, rows, cols);
        expectClose(sm, ts, Array.from(smWant, (v) => Math.max(v, 1e-30)), 1e-5, 'softmax vs TS');
        expect(sm).toEqual(ts);
        expect(got).toEqual(t);
      }
    }
  });

  it('ropeNeox: within 1e-5 of a reference with the f32 angles of ggml, generic and TS (partial rotary dims, large positions)', () => {
    const next = rng(19);
    for (const [tokens, heads, headDim, ropeDim, base] of [
      [1, 1, 2, 2, 10000],
      [3, 4, 64, 64, 500000],
      [2, 20, 128, 128, 500000],
      [2, 2, 64, 32, 10000],
    ]) {
      const x = randomFloats(next, tokens * heads * headDim, 2);
      const positions = Int32Array.from({ length: tokens }, () => int(next, 5000));
      const got = Float32Array.from(x);
      k.ropeNeox(got, tokens, heads, headDim, ropeDim, positions, base);
      // θ as ggml computes it (and the TS kernels): an f32 running product θ_{i+1} = f32(θ_i · f32(base^(−2/d))).
      const want = Float64Array.from(x);
      const step = fround(Math.pow(fround(base), fround(-2 / ropeDim)));
      for (let t = 0; t < tokens; t++)
        for (let h = 0; h < heads; h++)
          for (let i = 0, th = fround(positions[t]); i < ropeDim / 2; i++, th = fround(th * step)) {
            const o = (t * heads + h) * headDim;
            want[o + i] = x[o + i] * Math.cos(th) - x[o + i + ropeDim / 2] * Math.sin(th);
            want[o + i + ropeDim / 2] = x[o + i] * Math.sin(th) + x[o + i + ropeDim / 2] * Math.cos(th);
          }
      expectClose(got, want, 2 * 2, 1e-5, 'rope vs double');
      const g = Float32Array.from(x);
      generic(() => k.ropeNeox(g, tokens, heads, headDim, ropeDim, positions, base));
      expect(got).toEqual(g);
      if (tsKernels) {
        const t = Float32Array.from(x);
        tsKernels.ropeNeox(t, tokens, heads, headDim, ropeDim, positions, base);
        expectClose(got, t, 4, 1e-6, 'rope vs TS');
        expect(got).toEqual(t); // glibc's sincosf reproduced in TS
      }
    }
  });

});
