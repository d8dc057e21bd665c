/**
 * The native kernels, every instruction set this machine can run (see testing/kernelIsaVariants.ts):
 * the Q8_0 activation quantizer, Q8_0 × Q8_0, matmulFloat for every float type and getRows for every
 * type.
 */
import { dequantize, GgmlType, quantize } from '@bitnet/models';
import { rng } from '@bitnet/models/testing';
import type { FloatMatrix, Q8_0Activations, TernaryMatrix } from '../api/Kernels';
import { randomFloats, makeI2S, makeTQ2, makeTQ1, makeQ8_0 } from '../testing/kernelCases';
import { describeNativeIsas, tsKernels } from '../testing/kernelIsaVariants';
import { refQuantizeQ8_0, refMatmulQ8_0, refMatmulFloat, expectClose } from '../testing/kernelReferences';

describeNativeIsas('native Q8_0 and float kernels', ({ k, generic }) => {
  it('quantizeQ8_0: bit-exact with generic, the contract and the TS kernels (zero blocks, exact halves)', () => {
    const next = rng(18);
    for (const [rows, cols] of [[1, 32], [3, 96], [2, 2560], [5, 160], [1, 6912]]) {
      const x = randomFloats(next, rows * cols, 4);
      x.fill(0, 32, 64 < x.length ? 64 : 32); // an all-zero block (when there is a second one)
      x[0] = 127; // amax 127: id = 1, so the halves below are exact ties (to even)
      x[1] = 2.5;
      x[2] = -3.5;
      const alloc = (): Q8_0Activations => ({ rows, cols, qs: new Int8Array(rows * cols), d: new Float32Array((rows * cols) / 32) });
      const got = alloc();
      const g = alloc();
      k.quantizeQ8_0(x, rows, cols, got);
      generic(() => k.quantizeQ8_0(x, rows, cols, g));
      const want = refQuantizeQ8_0(x, rows, cols);
      expect(got.qs[1]).toBe(2);
      expect(got.qs[2]).toBe(-4);
      for (const other of [g, want]) {
        expect(got.qs).toEqual(other.qs);
        expect(got.d).toEqual(other.d);
      }
      if (tsKernels) {
        const t = alloc();
        tsKernels.quantizeQ8_0(x, rows, cols, t);
        expect(got.qs).toEqual(t.qs);
        expect(got.d).toEqual(t.d);
      }
    }
  });

  it('matmulQ8_0Q8_0: bit-exact with generic, the contract and the TS kernels (odd rows, multi-row activations, extreme quants)', () => {
    const next = rng(19);
    const shapes: Array<[number, number, number]> = [
      // N, K, M
      [1, 32, 1],
      [3, 64, 2],
      [7, 96, 3],
      [17, 2560, 1],
      [33, 160, 5],
      [64, 2560, 8],
      [9, 2560, 7],
      [1001, 2560, 1], // decode, on the thread pool, an odd row count
      [513, 512, 3], // batched rows on the thread pool
      [130, 2560, 8], // the AVX-512 tiles: 4 pairs, a weight-row count that leaves a 2-row rest
      [67, 2560, 16], // two groups of 4 pairs, on the thread pool
      [21, 96, 11], // odd rows: 6 pairs, the last with a zero partner; a rest group of 2 pairs
    ];
    for (const [N, K, M] of shapes) {
      const w = makeQ8_0(next, N, K);
      const x = randomFloats(next, M * K, 3);
      const a = refQuantizeQ8_0(x, M, K);
      if (M > 1) {
        // extreme activations: every quant ±127 in row 1 (and weights stay random, −128 included)
        for (let j = K; j < 2 * K; j++) a.qs[j] = next() < 0.5 ? -127 : 127;
      }
      const got = new Float32Array(M * N);
      k.matmulQ8_0Q8_0(w, a, got);
      const g = new Float32Array(M * N);
      generic(() => k.matmulQ8_0Q8_0(w, a, g));
      expect(got).toEqual(g);
      expect(got).toEqual(refMatmulQ8_0(w, a));
      if (tsKernels) {
        const t = new Float32Array(M * N);
        tsKernels.matmulQ8_0Q8_0(w, a, t);
        expect(got).toEqual(t);
      }
    }
  });

  it('matmulQ8_0Q8_0 after quantizeQ8_0: close to the f32 product of the dequantized weights', () => {
    const next = rng(20);
    const [N, K, M] = [40, 2560, 2];
    const w: FloatMatrix = { type: GgmlType.Q8_0, data: quantize(GgmlType.Q8_0, randomFloats(next, N * K, 1), K), rows: N, cols: K };
    const x = randomFloats(next, M * K, 2);
    const a: Q8_0Activations = { rows: M, cols: K, qs: new Int8Array(M * K), d: new Float32Array((M * K) / 32) };
    k.quantizeQ8_0(x, M, K, a);
    const got = new Float32Array(M * N);
    k.matmulQ8_0Q8_0(w, a, got);
    const { out, mag } = refMatmulFloat(w, x, M);
    // Activation rounding: each |x − q·d| ≤ d/2 ≤ amax/254 (+ the f16 rounding of d, 2^-11 relative),
    // so the error is at most ~0.5% of Σ|w|·amax per block; random signs keep it far below.
    expectClose(got, out, mag, 5e-3, `Q8_0×Q8_0 ${N}×${K}×${M} vs f32 x`);
  });

  const floatTypes = [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K] as const;
  const blockOf = (t: GgmlType) => (t === GgmlType.Q8_0 ? 32 : t === GgmlType.Q4_K || t === GgmlType.Q6_K ? 256 : 1);

  it.each(floatTypes.map((t) => [GgmlType[t], t] as const))('matmulFloat %s: within 1e-5 of Σ|w·x| against generic, double and TS', (_n, type) => {
    const next = rng(16 + type);
    const shapes: Array<[number, number, number]> =
      blockOf(type) === 1
        ? [[1, 1, 1], [3, 7, 2], [5, 33, 3], [17, 256, 1], [64, 2560, 8], [2000, 512, 1], [13, 1100, 5]]
        : [[1, 256, 1], [3, 512, 2], [9, 768, 5], [64, 2560, 8], [1000, 256, 2]];
    for (const [N, K, M] of shapes) {
      if (K % blockOf(type)) continue;
      const w: FloatMatrix = { type, data: quantize(type, randomFloats(next, N * K, 1), K), rows: N, cols: K };
      const x = randomFloats(next, M * K, 2);
      const got = new Float32Array(M * N);
      k.matmulFloat(w, x, M, got);
      const g = new Float32Array(M * N);
      generic(() => k.matmulFloat(w, x, M, g));
      const { out, mag } = refMatmulFloat(w, x, M);
      expectClose(got, out, mag, 1e-5, `${GgmlType[type]} ${N}×${K}×${M} vs double`);
      expectClose(got, g, mag, 1e-5, `${GgmlType[type]} ${N}×${K}×${M} vs generic`);
      // F16 is ggml_vec_dot_f16's arithmetic exactly, in every implementation.
      if (type === GgmlType.F16) expect(got).toEqual(g);
      if (tsKernels) {
        const t = new Float32Array(M * N);
        tsKernels.matmulFloat(w, x, M, t);
        expectClose(got, t, mag, 1e-5, `${GgmlType[type]} ${N}×${K}×${M} vs TS`);
        if (type === GgmlType.F16) expect(got).toEqual(t);
      }
    }
  });

  it('getRows: bit-exact with the @bitnet/models dequantizers for every type', () => {
    const next = rng(17);
    const N = 9;
    const ids = Int32Array.of(0, 8, 3, 3, 5);
    const cases: Array<FloatMatrix | TernaryMatrix> = [
      ...floatTypes.map((type) => ({ type, data: quantize(type, randomFloats(next, N * 512, 1), 512), rows: N, cols: 512 }) as FloatMatrix),
      makeI2S(next, N, 512, 'any'),
      makeTQ2(next, N, 512, 'any'),
      makeTQ1(next, N, 512),
    ];
    for (const w of cases) {
      const got = new Float32Array(ids.length * w.cols);
      k.getRows(w, ids, got);
      const all = dequantize(w.type, w.data, w.rows * w.cols);
      const want = new Float32Array(ids.length * w.cols);
      ids.forEach((id, i) => want.set(all.subarray(id * w.cols, (id + 1) * w.cols), i * w.cols));
      expect([GgmlType[w.type], got]).toEqual([GgmlType[w.type], want]);
      const g = new Float32Array(got.length);
      generic(() => k.getRows(w, ids, g));
      expect(got).toEqual(g);
      if (tsKernels) {
        const t = new Float32Array(got.length);
        tsKernels.getRows(w, ids, t);
        expect(got).toEqual(t);
      }
    }
  });

});
