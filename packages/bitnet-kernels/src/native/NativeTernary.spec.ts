/**
 * The native kernels, every instruction set this machine can run (see testing/kernelIsaVariants.ts):
 * the activation quantizers of the ternary kernels and the ternary matmuls (I2_S, TQ2_0, TQ1_0):
 * bit-exact with the generic kernels, the references and the TS kernels on odd, tiny and large
 * shapes, every code pattern and extreme activations.
 */
import { rng } from '@bitnet/models/testing';
import type { I8Activations, Q8KActivations } from '../api/Kernels';
import { randomFloats, makeI2S, makeTQ2, makeTQ1, makeI8, makeQ8K, type CodeMode, type ActMode } from '../testing/kernelCases';
import { describeNativeIsas, tsKernels } from '../testing/kernelIsaVariants';
import { refQuantizeI8, refQuantizeQ8K, refMatmulI2S, refMatmulTQ } from '../testing/kernelReferences';

const TERNARY_SHAPES: Array<[number, number, number]> = [
  // N, K, M
  [1, 256, 1],
  [1, 512, 3],
  [5, 256, 1],
  [17, 768, 4],
  [33, 1280, 5],
  [64, 2560, 8],
  [9, 2560, 1], // decode paths: groups of 8 blocks + a remainder
  [4, 6912, 1],
  [300, 2048, 1], // decode, on the thread pool
  [1024, 1024, 2], // large enough for the thread pool
  [200, 512, 7], // two weight panels, activation groups of 4, 2 and 1
  [24, 512, 21], // prefill-sized: TQ2_0's tiles of 3 pairs with spread products, and a last pair of one row
];
const I2S_SHAPES: Array<[number, number, number]> = [[1, 128, 1], [3, 384, 2], [7, 640, 9], ...TERNARY_SHAPES];

describeNativeIsas('native ternary kernels', ({ k, generic }) => {
  it('quantizeI8PerToken: bit-exact with generic, the contract and the TS kernels', () => {
    const next = rng(11);
    for (const [rows, cols] of [[1, 1], [1, 7], [3, 128], [2, 2560], [5, 6912], [4, 33]]) {
      const x = randomFloats(next, rows * cols, 3);
      if (rows > 2) x.fill(0, 0, cols); // an all-zero row: s = 127 / 1e-5
      const got: I8Activations = { rows, cols, qs: new Int8Array(rows * cols), scales: new Float32Array(rows), sums: new Int32Array(rows) };
      k.quantizeI8PerToken(x, rows, cols, got);
      const g: I8Activations = { rows, cols, qs: new Int8Array(rows * cols), scales: new Float32Array(rows), sums: new Int32Array(rows) };
      generic(() => k.quantizeI8PerToken(x, rows, cols, g));
      const want = refQuantizeI8(x, rows, cols);
      expect(got.qs).toEqual(g.qs);
      expect(got.scales).toEqual(g.scales);
      expect(got.sums).toEqual(g.sums);
      expect(got.qs).toEqual(want.qs);
      expect(got.scales).toEqual(want.scales);
      expect(got.sums).toEqual(want.sums);
      if (tsKernels) {
        const t: I8Activations = { rows, cols, qs: new Int8Array(rows * cols), scales: new Float32Array(rows), sums: new Int32Array(rows) };
        tsKernels.quantizeI8PerToken(x, rows, cols, t);
        expect(got.qs).toEqual(t.qs);
        expect(got.scales).toEqual(t.scales);
        expect(got.sums).toEqual(t.sums);
      }
    }
  });

  it('quantizeQ8K: bit-exact with generic, the contract and the TS kernels (zero blocks, ties of |max|)', () => {
    const next = rng(12);
    for (const [rows, cols] of [[1, 256], [3, 512], [2, 2560], [1, 6912]]) {
      const x = randomFloats(next, rows * cols, 5);
      x.fill(0, 256, 512 < x.length ? 512 : 256); // an all-zero block (when there is a second one)
      x[10] = 7;
      x[20] = -7; // equal |max|: the first one (+7) gives the sign
      const alloc = (): Q8KActivations => ({ rows, cols, qs: new Int8Array(rows * cols), d: new Float32Array((rows * cols) / 256), bsums: new Int16Array((rows * cols) / 16) });
      const got = alloc();
      const g = alloc();
      k.quantizeQ8K(x, rows, cols, got);
      generic(() => k.quantizeQ8K(x, rows, cols, g));
      const want = refQuantizeQ8K(x, rows, cols);
      for (const other of [g, want]) {
        expect(got.qs).toEqual(other.qs);
        expect(got.d).toEqual(other.d);
        expect(got.bsums).toEqual(other.bsums);
      }
      if (tsKernels) {
        const t = alloc();
        tsKernels.quantizeQ8K(x, rows, cols, t);
        expect(got.qs).toEqual(t.qs);
        expect(got.d).toEqual(t.d);
        expect(got.bsums).toEqual(t.bsums);
      }
    }
  });

  it('quantizeQ8K: the signed max of each block — at either end, negative, ties of both signs (first wins), NaN, ±Infinity', () => {
    // One 256-value block per case: small random values, then the listed [index, value] pairs.
    const cases: Array<Array<[number, number]>> = [
      [[255, 9]], // max at the last element
      [[255, -9]], // negative max at the last element
      [[0, -9]], // negative max at the first element
      [[3, -9], [200, -9]], // several equal negative maxima
      [[40, -9], [41, 9], [250, 9]], // ties of both signs: the first (negative) one wins
      [[41, 9], [40 + 128, -9], [255, -9]], // ties of both signs: the first (positive) one wins
      [[255, 9], [254, -9]], // the tie broken at the very end
      [[7, 9], [8, -9], [9, 9], [100, -9], [101, 9]],
      [[5, NaN], [6, 4], [7, -4]], // NaN is ignored for the max
      [[0, NaN], [9, -4], [255, NaN]],
      [[12, Infinity]],
      [[12, -Infinity], [13, Infinity]],
    ];
    const next = rng(17);
    const cols = 256 * cases.length;
    const x = randomFloats(next, cols, 1);
    cases.forEach((c, b) => c.forEach(([i, v]) => (x[b * 256 + i] = v)));
    const xBits = new Uint32Array(x.buffer);
    xBits[8 * 256 + 100] = 0x7fc12345; // NaNs with payloads (their int8 is whatever the rounding trick makes of them)
    xBits[8 * 256 + 101] = 0xff800001;
    x.fill(NaN, cols - 256, cols - 250); // the last block: NaN and zeros only (a zero block)
    x.fill(0, cols - 250, cols);
    const alloc = (): Q8KActivations => ({ rows: 1, cols, qs: new Int8Array(cols), d: new Float32Array(cols / 256), bsums: new Int16Array(cols / 16) });
    const got = alloc();
    const g = alloc();
    k.quantizeQ8K(x, 1, cols, got);
    generic(() => k.quantizeQ8K(x, 1, cols, g));
    expect(got.qs).toEqual(g.qs);
    expect(got.d).toEqual(g.d);
    expect(got.bsums).toEqual(g.bsums);
    // The finite blocks (the first eight) against the contract's reference and the TS kernels.
    const finite = 8 * 256;
    const xf = x.slice(0, finite);
    const want = refQuantizeQ8K(xf, 1, finite);
    expect(got.qs.subarray(0, finite)).toEqual(want.qs);
    expect(got.d.subarray(0, 8)).toEqual(want.d);
    expect(got.bsums.subarray(0, 8 * 16)).toEqual(want.bsums);
    expect(Array.from(got.d.subarray(0, 8), Math.sign)).toEqual([-1, 1, 1, 1, 1, -1, 1, -1]); // d = −mx/127
  });

  const actModes: ActMode[] = ['random', 'extreme', 'zero-rows'];

  it('matmulI2sI8: bit-exact on odd, tiny and large shapes, extreme activations and all code patterns', () => {
    const next = rng(13);
    for (const [N, K, M] of I2S_SHAPES) {
      const big = N * K * M > 1 << 18; // big shapes: one pattern (the JS references are slow)
      for (const codes of (big ? ['any'] : ['valid', 'max', 'any']) as CodeMode[]) {
        const w = makeI2S(next, N, K, codes);
        for (const how of big ? (['random'] as ActMode[]) : actModes) {
          const a = makeI8(next, M, K, how);
          const got = new Float32Array(M * N);
          k.matmulI2sI8(w, a, got);
          const g = new Float32Array(M * N);
          generic(() => k.matmulI2sI8(w, a, g));
          expect(got).toEqual(g);
          expect(got).toEqual(refMatmulI2S(w, a));
          if (tsKernels) {
            const t = new Float32Array(M * N);
            tsKernels.matmulI2sI8(w, a, t);
            expect(got).toEqual(t);
          }
        }
      }
    }
  });

  it.each([
    ['matmulTq2_0Q8K', makeTQ2],
    ['matmulTq1_0Q8K', makeTQ1],
  ] as const)('%s: bit-exact on odd, tiny and large shapes, extreme activations and all code patterns', (fn, make) => {
    const next = rng(fn === 'matmulTq2_0Q8K' ? 14 : 15);
    for (const [N, K, M] of TERNARY_SHAPES) {
      const big = N * K * M > 1 << 18;
      for (const codes of (big ? ['any'] : ['valid', 'max', 'any']) as CodeMode[]) {
        const w = make(next, N, K, codes);
        for (const how of big ? (['random'] as ActMode[]) : actModes) {
          const a = makeQ8K(next, M, K, how);
          const got = new Float32Array(M * N);
          k[fn](w, a, got);
          const g = new Float32Array(M * N);
          generic(() => k[fn](w, a, g));
          expect(got).toEqual(g);
          expect(got).toEqual(refMatmulTQ(w, a));
          if (tsKernels) {
            const t = new Float32Array(M * N);
            tsKernels[fn](w, a, t);
            expect(got).toEqual(t);
          }
        }
      }
    }
  });

  it('multi-row ternary matmuls: every row count 1..20 gives each row the one-row call\'s bits (batch invariance)', () => {
    // Register tiles of several weight × activation rows (and their remainders) must not change a
    // row's result: each row of an M-row call equals the same row called alone, and the generic kernel.
    const next = rng(16);
    const MAX_ROWS = 20; // past the tiles' row groups of 4 (decode batches) and 6 (prefill chunks from 12 rows)
    const shapes: Array<[number, number]> = [[11, 384], [37, 768], [300, 256], [6, 2560]]; // N, K (I2_S: K % 256 = 128 too)
    for (const [N, K] of shapes) {
      const wI = makeI2S(next, N, K, 'any');
      const tq = K % 256 === 0;
      const wT = tq ? makeTQ2(next, N, K, 'any') : undefined;
      const aI = makeI8(next, MAX_ROWS, K, 'random');
      const aT = tq ? makeQ8K(next, MAX_ROWS, K, 'random') : undefined;
      const oneI: Float32Array[] = [];
      const oneT: Float32Array[] = [];
      for (let r = 0; r < MAX_ROWS; r++) {
        const o = new Float32Array(N);
        k.matmulI2sI8(wI, { rows: 1, cols: K, qs: aI.qs.slice(r * K, (r + 1) * K), scales: aI.scales.slice(r, r + 1), sums: aI.sums.slice(r, r + 1) }, o);
        oneI.push(o);
        if (wT && aT) {
          const t = new Float32Array(N);
          const nb = K / 256;
          k.matmulTq2_0Q8K(wT, { rows: 1, cols: K, qs: aT.qs.slice(r * K, (r + 1) * K), d: aT.d.slice(r * nb, (r + 1) * nb), bsums: aT.bsums.slice((r * K) / 16, ((r + 1) * K) / 16) }, t);
          oneT.push(t);
        }
      }
      for (let M = 1; M <= MAX_ROWS; M++) {
        const a: I8Activations = { rows: M, cols: K, qs: aI.qs.slice(0, M * K), scales: aI.scales.slice(0, M), sums: aI.sums.slice(0, M) };
        const got = new Float32Array(M * N);
        k.matmulI2sI8(wI, a, got);
        const g = new Float32Array(M * N);
        generic(() => k.matmulI2sI8(wI, a, g));
        expect(got).toEqual(g);
        for (let r = 0; r < M; r++) expect(got.subarray(r * N, (r + 1) * N)).toEqual(oneI[r]);
        if (wT && aT) {
          const nb = K / 256;
          const b: Q8KActivations = { rows: M, cols: K, qs: aT.qs.slice(0, M * K), d: aT.d.slice(0, M * nb), bsums: aT.bsums.slice(0, (M * K) / 16) };
          const gotT = new Float32Array(M * N);
          k.matmulTq2_0Q8K(wT, b, gotT);
          const gT = new Float32Array(M * N);
          generic(() => k.matmulTq2_0Q8K(wT, b, gT));
          expect(gotT).toEqual(gT);
          for (let r = 0; r < M; r++) expect(gotT.subarray(r * N, (r + 1) * N)).toEqual(oneT[r]);
        }
      }
    }
  });
});
