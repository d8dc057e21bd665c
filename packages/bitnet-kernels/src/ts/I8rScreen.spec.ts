import { GgmlType, f16ToF32, f32ToF16 } from '@bitnet/models';
import type { FloatMatrix, I8rMatrix } from '../api/Kernels';
import { quantizeI8PerToken } from './ActivationQuant';
import { encodeI8rRows, matmulI8rI8, roundUpToF32, screenBoundsI8r, screenCandidates } from './I8rScreen';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const f32Matrix = (values: Float32Array, rows: number, cols: number): FloatMatrix => ({ type: GgmlType.F32, data: new Uint8Array(values.buffer), rows, cols });
const i8r = (rows: number, cols: number): I8rMatrix => ({ rows, cols, codes: new Uint8Array(rows * cols), scales: new Float32Array(rows) });

/** v · 2^160 as a BigInt: exact for every finite f32 (its lowest bit is at least 2^−149). */
const fixed = (v: number): bigint => BigInt(v * 2 ** 80) * 2n ** 80n;

describe('encodeI8rRows', () => {
  it('scales each row by its largest magnitude and rounds halves away from zero', () => {
    const row = new Float32Array(32);
    row.set([127, -2.5, 2.5, 0.49, -0.5, 63.5]);
    const zero = new Float32Array(32);
    const out = i8r(2, 32);
    encodeI8rRows(f32Matrix(Float32Array.from([...row, ...zero]), 2, 32), out);
    expect(out.scales[0]).toBe(1);
    expect(Array.from(out.codes.subarray(0, 6), (c) => c - 128)).toEqual([127, -3, 3, 0, -1, 64]);
    expect(out.scales[1]).toBe(0);
    expect(out.codes.subarray(32).every((c) => c === 128)).toBe(true);
  });

  it('keeps every value within half a step of its row scale (F16 input)', () => {
    const r = rng(7);
    const rows = 5;
    const cols = 96;
    const h = new Uint16Array(rows * cols);
    for (let i = 0; i < h.length; i++) h[i] = f32ToF16((r() - 0.5) * (i % 7 === 0 ? 8 : 1));
    const out = i8r(rows, cols);
    encodeI8rRows({ type: GgmlType.F16, data: new Uint8Array(h.buffer), rows, cols }, out);
    for (let n = 0; n < rows; n++) {
      const d = out.scales[n];
      let amax = 0;
      for (let k = 0; k < cols; k++) amax = Math.max(amax, Math.abs(f16ToF32(h[n * cols + k])));
      expect(d).toBe(Math.fround(amax / 127));
      for (let k = 0; k < cols; k++) expect(Math.abs(f16ToF32(h[n * cols + k]) - (out.codes[n * cols + k] - 128) * d)).toBeLessThanOrEqual(0.5001 * d);
    }
  });
});

describe('screenBoundsI8r', () => {
  it('is never below the exact norms and at most 2^-20 above them, for any codes', () => {
    const r = rng(11);
    const rows = 6;
    const cols = 64;
    const w = new Float32Array(rows * cols).map(() => (r() - 0.5) * 2 ** Math.floor(r() * 12 - 8));
    const q = i8r(rows, cols);
    encodeI8rRows(f32Matrix(w, rows, cols), q);
    for (let i = 0; i < 3 * cols; i++) q.codes[3 * cols + i] = Math.floor(r() * 256); // rows 3..5: not w's encoding
    q.scales[4] = Math.fround(q.scales[4] * 1.37);
    const out = new Float32Array(2 * rows);
    screenBoundsI8r(f32Matrix(w, rows, cols), q, out);
    for (let n = 0; n < rows; n++) {
      let err = 0n;
      let val = 0n;
      for (let k = 0; k < cols; k++) {
        const wh = BigInt(q.codes[n * cols + k] - 128) * fixed(q.scales[n]);
        const e = fixed(w[n * cols + k]) - wh;
        err += e * e;
        val += wh * wh;
      }
      for (const [bound, exact] of [
        [out[2 * n], err],
        [out[2 * n + 1], val],
      ] as const) {
        const b = fixed(bound);
        expect(b * b >= exact).toBe(true);
        expect(b * b * 2n ** 40n <= exact * (2n ** 20n + 1n) ** 2n).toBe(true);
      }
    }
  });

  it('gives zero for an exactly representable row and a non-finite bound for a non-finite weight', () => {
    const w = new Float32Array(96);
    for (let k = 0; k < 32; k++) w[k] = k - 16; // row 0: its codes below hold it exactly at scale 1
    const q = i8r(3, 32);
    for (let k = 0; k < 32; k++) q.codes[k] = w[k] + 128;
    q.scales[0] = 1;
    w[32 + 5] = NaN;
    w[64 + 9] = -Infinity;
    const out = new Float32Array(6);
    screenBoundsI8r(f32Matrix(w, 3, 32), q, out);
    expect(out[0]).toBe(0);
    expect(out[1]).toBeGreaterThan(0);
    expect(Number.isNaN(out[2])).toBe(true);
    expect(out[4]).toBe(Infinity);
  });

  it('rounds up to the next f32', () => {
    expect(roundUpToF32(1)).toBe(1);
    expect(roundUpToF32(1 + 2 ** -40)).toBe(1 + 2 ** -23);
    expect(roundUpToF32(0)).toBe(0);
    expect(roundUpToF32(2 ** -160)).toBe(2 ** -149);
    expect(roundUpToF32(3.5e38)).toBe(Infinity);
  });
});

describe('matmulI8rI8', () => {
  it('is the integer dot product of the values, then the f32 epilogue in its order', () => {
    const r = rng(3);
    const M = 3;
    const N = 5;
    const K = 96;
    const w = i8r(N, K);
    w.codes.forEach((_, i) => (w.codes[i] = Math.floor(r() * 256)));
    w.scales.forEach((_, i) => (w.scales[i] = Math.fround(r() * 0.01)));
    const x = new Float32Array(M * K).map(() => r() * 4 - 2);
    const a = { rows: M, cols: K, qs: new Int8Array(M * K), scales: new Float32Array(M), sums: new Int32Array(M) };
    quantizeI8PerToken(x, M, K, a);
    const out = new Float32Array(M * N);
    matmulI8rI8(w, a, out);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let dot = 0;
        for (let k = 0; k < K; k++) dot += (w.codes[n * K + k] - 128) * a.qs[m * K + k];
        const want = Math.fround(Math.fround(Math.fround(dot) / a.scales[m]) * w.scales[n]);
        expect(out[m * N + n]).toBe(want);
        // and it approximates the real product of the dequantized values
        expect(Math.abs(out[m * N + n] - (dot / a.scales[m]) * w.scales[n])).toBeLessThanOrEqual(1e-6 * Math.abs(out[m * N + n]) + 1e-30);
      }
    }
  });

  it('stays exact at the int32 range edge (K = 32768, extreme codes and activations)', () => {
    const K = 32768;
    const w = i8r(2, K);
    w.codes.fill(0, 0, K); // value −128
    w.codes.fill(255, K); // value 127
    w.scales.fill(1);
    const a = { rows: 1, cols: K, qs: new Int8Array(K).fill(-128), scales: Float32Array.of(1), sums: Int32Array.of(-128 * K) };
    const out = new Float32Array(2);
    matmulI8rI8(w, a, out);
    expect(out[0]).toBe(Math.fround(128 * 128 * K));
    expect(out[1]).toBe(Math.fround(-127 * 128 * K));
  });
});

describe('screenCandidates', () => {
  const naive = (a: Float32Array, b: Float32Array, c0: number, c1: number): number[] => {
    const bound = (n: number) => b[2 * n] * c0 + b[2 * n + 1] * c1;
    let floor = -Infinity;
    a.forEach((v, n) => (floor = Math.max(floor, v - bound(n))));
    const reach = floor - 1e-12 * (1 + Math.abs(floor));
    return [...a.keys()].filter((n) => a[n] + bound(n) >= reach);
  };

  it('keeps exactly the ids whose upper bound reaches the largest lower bound, the largest value among them', () => {
    const r = rng(5);
    const V = 5000;
    const a = new Float32Array(V).map(() => r() * 20 - 10);
    const b = new Float32Array(2 * V).map(() => r() * 0.05);
    const ids = new Int32Array(V);
    const c = screenCandidates(a, b, 1.5, 2, ids);
    const want = naive(a, b, 1.5, 2);
    expect(c).toBe(want.length);
    expect(Array.from(ids.subarray(0, c))).toEqual(want);
    expect(want.length).toBeLessThan(V / 10);
    let best = 0;
    a.forEach((v, n) => (best = v > a[best] ? n : best));
    expect(want).toContain(best);
  });

  it('reports NaN rows, all −Infinity rows and overflowing candidate lists', () => {
    const b = new Float32Array(8).fill(0.1);
    const ids = new Int32Array(4);
    expect(screenCandidates(Float32Array.of(1, NaN, 2, 3), b, 1, 1, ids)).toBe(-1);
    expect(screenCandidates(new Float32Array(4).fill(-Infinity), b, 1, 1, ids)).toBe(-1);
    expect(screenCandidates(Float32Array.of(1, 1, 1, 1), b, 1, 1, new Int32Array(3))).toBe(-2);
    expect(screenCandidates(Float32Array.of(1, 1, 1, 1), b, 1, 1, ids)).toBe(4);
    expect(screenCandidates(Float32Array.of(0, 5, 0, 4.5), b, 1, 1, ids)).toBe(1);
    expect(ids[0]).toBe(1);
  });
});
