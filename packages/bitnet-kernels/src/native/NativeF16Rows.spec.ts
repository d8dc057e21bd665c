/**
 * The exact F16 matmul (the F16 output matrix) with many activation rows, every instruction set this
 * machine can run: each row of an M-row call must be bit for bit the 1-row call on that row alone (the
 * multi-row kernels share each converted weight vector between rows, never a row's accumulators, their
 * order or the reduction), and bit for bit the generic kernel and the TypeScript kernels, which implement
 * the same ggml_vec_dot_f16 contract. Rows 1..9 cover every tile size and remainder of the SIMD kernels;
 * odd output counts cover the column tiles' remainders and the thread split; K covers no 32-block at
 * all, exact 32-blocks and blocks plus a tail of 1..31. With x rounded to f16 (as the inference passes
 * it), tiles of 3 or more rows read the activations as f16: the same checks cover that path, and one
 * value that is not an f16 (or a NaN) must send the call back to the f32 path with the same bits.
 */
import { GgmlType, f16ToF32, f32ToF16, quantize } from '@bitnet/models';
import { rng } from '@bitnet/models/testing';
import type { FloatMatrix } from '../api/Kernels';
import { randomFloats } from '../testing/kernelCases';
import { describeNativeIsas, tsKernels } from '../testing/kernelIsaVariants';

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

describeNativeIsas('native F16 matmul, many rows', ({ k, generic }) => {
  const shapes: Array<[number, number]> = [
    // N (outputs), K
    [1, 31],
    [7, 32],
    [5, 97],
    [33, 2560],
    [13, 2563],
    [1001, 160], // on the thread pool, an odd row count
  ];
  /** An M-row call: each row equals its 1-row call, and the whole equals the generic kernel, bit for bit. Returns the result. */
  function expectRowsAsAlone(w: FloatMatrix, x: Float32Array, M: number): Float32Array {
    const { rows: N, cols: K } = w;
    const got = new Float32Array(M * N);
    k.matmulFloat(w, x, M, got);
    for (let m = 0; m < M; m++) {
      const one = new Float32Array(N);
      k.matmulFloat(w, x.subarray(m * K, (m + 1) * K), 1, one);
      expect(bits(got.subarray(m * N, (m + 1) * N))).toEqual(bits(one));
    }
    const g = new Float32Array(M * N);
    generic(() => k.matmulFloat(w, x, M, g));
    expect(bits(got)).toEqual(bits(g));
    return got;
  }

  it.each(shapes)('N=%i K=%i: each of rows 1..9 equals its 1-row call, generic and TS bit for bit', (N, K) => {
    const next = rng(1600 + N + K);
    const w: FloatMatrix = { type: GgmlType.F16, data: quantize(GgmlType.F16, randomFloats(next, N * K, 1), K), rows: N, cols: K };
    for (let M = 1; M <= 9; M++) {
      const x = randomFloats(next, M * K, 2);
      const got = expectRowsAsAlone(w, x, M);
      if (tsKernels) {
        const t = new Float32Array(M * N);
        tsKernels.matmulFloat(w, x, M, t);
        expect(bits(got)).toEqual(bits(t));
      }
    }
  });

  it('large and small magnitudes, cancellation: rows of an 8-row call equal their 1-row calls and generic', () => {
    const next = rng(1616);
    const N = 67;
    const K = 2560 + 17;
    const src = randomFloats(next, N * K, 1);
    for (let i = 0; i < src.length; i += 7) src[i] *= 3e4; // near the f16 maximum
    for (let i = 3; i < src.length; i += 11) src[i] *= 1e-6; // subnormal halves
    const w: FloatMatrix = { type: GgmlType.F16, data: quantize(GgmlType.F16, src, K), rows: N, cols: K };
    const M = 8;
    const x = randomFloats(next, M * K, 2);
    for (let j = 0; j < K; j++) x[K + j] = -x[j]; // row 1 = −row 0: sums that cancel
    expectRowsAsAlone(w, x, M);
  });

  const f16Floats = (next: () => number, n: number): Float32Array => randomFloats(next, n, 2).map((v) => f16ToF32(f32ToF16(v)));

  it.each(shapes)('N=%i K=%i, x rounded to f16 (activations read as f16): rows 1..9 as alone, generic and TS', (N, K) => {
    const next = rng(1700 + N + K);
    const w: FloatMatrix = { type: GgmlType.F16, data: quantize(GgmlType.F16, randomFloats(next, N * K, 1), K), rows: N, cols: K };
    for (let M = 1; M <= 9; M++) {
      const x = f16Floats(next, M * K);
      const got = expectRowsAsAlone(w, x, M);
      if (tsKernels) {
        const t = new Float32Array(M * N);
        tsKernels.matmulFloat(w, x, M, t);
        expect(bits(got)).toEqual(bits(t));
      }
    }
  });

  it.each([
    ['one value that is not an f16', (x: Float32Array) => (x[x.length - 3] += 1e-5)],
    ['a NaN', (x: Float32Array) => (x[5 * 2560 + 7] = NaN)],
    ['the last value not an f16', (x: Float32Array) => (x[x.length - 1] = 0.1)],
  ])('8 rows of f16 values but %s: the same bits as the 1-row calls and generic', (_name, spoil) => {
    const next = rng(1750);
    const N = 37;
    const K = 2560;
    const w: FloatMatrix = { type: GgmlType.F16, data: quantize(GgmlType.F16, randomFloats(next, N * K, 1), K), rows: N, cols: K };
    const x = f16Floats(next, 8 * K);
    spoil(x);
    const got = expectRowsAsAlone(w, x, 8);
    if (tsKernels) {
      const t = new Float32Array(8 * N);
      tsKernels.matmulFloat(w, x, 8, t);
      expect(bits(got)).toEqual(bits(t));
    }
  });
});
