/**
 * The screening kernels, native, every instruction set this machine can run (testing/kernelIsaVariants.ts):
 * matmulFloatPicked gives bit for bit the chosen elements of the same kernels' matmulFloat (on the pool
 * and inline, picks repeated and out of order, x rounded to f16 so that the full F16 call reads it as
 * f16; runs of one weight row over consecutive, repeated and unordered x rows against one-row calls),
 * and the TypeScript kernels' picks where the two matmulFloat agree (F16 bit for bit, the other
 * types within the contract's 1e-5). (The screened output's I8r kernels: NativeI8rScreen.spec.ts.)
 * The binding rejects bad indices and short buffers with a RangeError instead of touching memory.
 */
import { dequantizeRows, f16ToF32, f32ToF16, GgmlType, quantize } from '@bitnet/models';
import { rng } from '@bitnet/models/testing';
import type { FloatMatrix } from '../api/Kernels';
import { randomFloats, randomPicks, thrown } from '../testing/kernelCases';
import { describeNativeIsas, tsKernels } from '../testing/kernelIsaVariants';
import { expectClose } from '../testing/kernelReferences';

const FLOAT_TYPES = [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K] as const;
const blockOf = (t: GgmlType) => (t === GgmlType.Q8_0 ? 32 : t === GgmlType.Q4_K || t === GgmlType.Q6_K ? 256 : 1);

interface PickCase {
  w: FloatMatrix;
  /** 8 rows of K values rounded to f16. */
  x: Float32Array;
}

/** The shapes (type, N, K): F32, F16, BF16 and Q8_0 of N = 1003 rows, K = 2560 and 64; Q4_K and Q6_K (slow to quantize) 1003 × 256 and 97 × 2560. */
const SHAPES: Array<[GgmlType, number, number]> = FLOAT_TYPES.flatMap((type) =>
  (blockOf(type) === 256 ? [[1003, 256], [97, 2560]] : [[1003, 2560], [1003, 64]]).map(([N, K]) => [type, N, K] as [GgmlType, number, number]),
);
const built = new Map<string, PickCase>();
/** The matrix and activations of a shape, built on first use and shared by every variant. */
function pickCase(type: GgmlType, N: number, K: number): PickCase {
  const key = `${type} ${N} ${K}`;
  let c = built.get(key);
  if (!c) {
    const next = rng(4100 + type * 7 + K);
    const w: FloatMatrix = { type: type as FloatMatrix['type'], data: quantize(type, randomFloats(next, N * K, 1), K), rows: N, cols: K };
    c = { w, x: randomFloats(next, 8 * K, 2).map((v) => f16ToF32(f32ToF16(v))) };
    built.set(key, c);
  }
  return c;
}

/** Σ|w·x| of each pick, in double (the scale of the contract's 1e-5 between implementations). */
function pickMagnitudes(w: FloatMatrix, x: Float32Array, wRow: Int32Array, xRow: Int32Array): Float64Array {
  const K = w.cols;
  return Float64Array.from(wRow, (n, j) => {
    const row = dequantizeRows(w.type, w.data, K, n, 1);
    let mag = 0;
    for (let k = 0; k < K; k++) mag += Math.abs(row[k] * x[xRow[j] * K + k]);
    return mag;
  });
}

/** matmulFloatPicked's runs case of a type (built once, shared by every variant): f32 x (8 rows + 1 value,
 *  for an unaligned view) and picks in runs of one weight row. */
const runCases = new Map<GgmlType, { w: FloatMatrix; buf: Float32Array; wRow: Int32Array; xRow: Int32Array }>();
function runCase(type: GgmlType) {
  let c = runCases.get(type);
  if (c) return c;
  const [N, K, M] = blockOf(type) === 256 ? [67, 512, 8] : [151, 2560, 8];
  const next = rng(4400 + type);
  const w: FloatMatrix = { type: type as FloatMatrix['type'], data: quantize(type, randomFloats(next, N * K, 1), K), rows: N, cols: K };
  const buf = randomFloats(next, M * K + 1, 2); // not f16 values
  const wr: number[] = [];
  const xr: number[] = [];
  // sorted tokens, each for a random subset of the x rows in order (runs of consecutive rows), then
  // repeated pairs, a run of all 8, rows descending, and a run long enough to cross the thread split
  for (let n = 0; n < N; n += 1 + Math.floor(next() * 3)) for (let m = 0; m < M; m++) if (next() < 0.6) (wr.push(n), xr.push(m));
  wr.push(N - 1, N - 1, N - 1, N - 1, N - 1, N - 1);
  xr.push(3, 3, 4, 4, 2, 1);
  for (let m = 0; m < M; m++) (wr.push(5), xr.push(m));
  for (let m = M - 1; m >= 0; m--) (wr.push(6), xr.push(m));
  for (let i = 0; i < 300; i++) (wr.push(7), xr.push(i % M));
  c = { w, buf, wRow: Int32Array.from(wr), xRow: Int32Array.from(xr) };
  runCases.set(type, c);
  return c;
}

describeNativeIsas('native screening kernels', ({ k, generic }) => {
  it.each(SHAPES.map(([type, N, K]) => [`${GgmlType[type]} ${N}×${K}`, type, N, K] as const))('matmulFloatPicked %s: the full matmulFloat elements bit for bit, xRows 1, 3, 8', (label, type, N, K) => {
    const c = pickCase(type, N, K);
    const { w } = c;
    const next = rng(4200 + w.type + K);
    for (const M of [1, 3, 8]) {
      const x = c.x.subarray(0, M * K);
      const full = new Float32Array(M * N);
      k.matmulFloat(w, x, M, full);
      const gFull = new Float32Array(M * N);
      generic(() => k.matmulFloat(w, x, M, gFull));
      // 700 picks run on the pool, 7 on the calling thread
      for (const P of [700, 7]) {
        const { wRow, xRow } = randomPicks(next, N, M, P);
        const got = new Float32Array(P);
        k.matmulFloatPicked(w, x, M, wRow, xRow, got);
        expect(got).toEqual(Float32Array.from(wRow, (n, j) => full[xRow[j] * N + n]));
        const g = new Float32Array(P);
        generic(() => k.matmulFloatPicked(w, x, M, wRow, xRow, g));
        expect(g).toEqual(Float32Array.from(wRow, (n, j) => gFull[xRow[j] * N + n]));
        if (tsKernels) {
          const t = new Float32Array(P);
          tsKernels.matmulFloatPicked(w, x, M, wRow, xRow, t);
          // F16 is exact in every implementation; the other types agree within the contract's 1e-5 of Σ|w·x|
          if (w.type === GgmlType.F16) expect(got).toEqual(t);
          else expectClose(got, t, pickMagnitudes(w, x, wRow, xRow), 1e-5, `${label} M=${M} vs TS`);
        }
      }
    }
    // no picks: nothing written
    k.matmulFloatPicked(w, c.x.subarray(0, K), 1, new Int32Array(0), new Int32Array(0), new Float32Array(0));
  });

  it('matmulFloatPicked of f32 activations that are not f16 values (F16 weights): the full call elements and TS bit for bit', () => {
    const next = rng(4300);
    const [N, K, M] = [333, 2563 - 3, 5];
    const w: FloatMatrix = { type: GgmlType.F16, data: quantize(GgmlType.F16, randomFloats(next, N * K, 1), K), rows: N, cols: K };
    const x = randomFloats(next, M * K, 2);
    const full = new Float32Array(M * N);
    k.matmulFloat(w, x, M, full);
    const { wRow, xRow } = randomPicks(next, N, M, 300);
    const got = new Float32Array(300);
    k.matmulFloatPicked(w, x, M, wRow, xRow, got);
    expect(got).toEqual(Float32Array.from(wRow, (n, j) => full[xRow[j] * N + n]));
    if (tsKernels) {
      const t = new Float32Array(300);
      tsKernels.matmulFloatPicked(w, x, M, wRow, xRow, t);
      expect(got).toEqual(t);
    }
  });

  it.each(FLOAT_TYPES.map((t) => [GgmlType[t], t] as const))('matmulFloatPicked %s in runs of one weight row (consecutive, repeated and out-of-order x rows; f32 x, aligned or not): one-row matmulFloat bit for bit', (_name, type) => {
    const { w, buf, wRow, xRow } = runCase(type);
    const [N, K, M] = [w.rows, w.cols, 8];
    for (const x of [buf.subarray(0, M * K), buf.subarray(1)]) {
      const want = new Float32Array(wRow.length);
      for (let m = 0; m < M; m++) {
        const row = new Float32Array(N);
        k.matmulFloat(w, x.subarray(m * K, (m + 1) * K), 1, row);
        xRow.forEach((xm, j) => {
          if (xm === m) want[j] = row[wRow[j]];
        });
      }
      for (const P of [wRow.length, 200]) {
        const got = new Float32Array(P);
        k.matmulFloatPicked(w, x, M, wRow.subarray(0, P), xRow.subarray(0, P), got);
        expect(got).toEqual(want.subarray(0, P));
      }
      const g = new Float32Array(wRow.length);
      generic(() => k.matmulFloatPicked(w, x, M, wRow, xRow, g));
      const gWant = new Float32Array(wRow.length);
      for (let m = 0; m < M; m++) {
        const row = new Float32Array(N);
        generic(() => k.matmulFloat(w, x.subarray(m * K, (m + 1) * K), 1, row));
        xRow.forEach((xm, j) => {
          if (xm === m) gWant[j] = row[wRow[j]];
        });
      }
      expect(g).toEqual(gWant);
    }
  });

  it('the binding rejects out-of-range picks, short buffers and wrong types with a RangeError or TypeError', () => {
    const { w, x } = pickCase(GgmlType.F16, 1003, 64);
    const [N, M] = [w.rows, 8];
    const out = new Float32Array(2);
    const pick = (wRow: number[], xRow: number[], o = out) => () => k.matmulFloatPicked(w, x, M, Int32Array.from(wRow), Int32Array.from(xRow), o);
    expect(thrown(pick([0, N], [0, 0])).message).toMatch(/^matmulFloatPicked: wRow\[1\] = 1003 is outside \[0, 1003\)$/);
    expect(thrown(pick([-1, 0], [0, 0])).name).toBe('RangeError');
    expect(thrown(pick([0, 1], [M, 0])).message).toMatch(/xRow\[0\] = 8 is outside \[0, 8\)/);
    expect(thrown(pick([0, 1], [0])).message).toMatch(/xRow holds 1 elements but wRow.length needs 2/);
    expect(thrown(pick([0, 1], [0, 0], new Float32Array(1))).message).toMatch(/out holds 1 elements/);
    expect(thrown(() => k.matmulFloatPicked(w, x, M, Int32Array.of(0), Uint32Array.of(0) as unknown as Int32Array, out)).name).toBe('TypeError');
  });
});
