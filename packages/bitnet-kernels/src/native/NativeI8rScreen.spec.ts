/**
 * The screened output's native kernels, every instruction set this machine can run and the SIMDe-
 * emulated ones (testing/kernelIsaVariants.ts), against the TypeScript kernels (ts/I8rScreen.ts) and
 * the generic C++ bit for bit: matmulI8rI8 (M = 1 to 9; N off every tile and thread share;
 * K = 32, 96, 2560; extreme codes and activations at K = 32768), encodeI8rRows (F32 / F16 / BF16,
 * ties, zero and subnormal rows), screenBoundsI8r (own and unrelated codes, non-finite weights and
 * scales; above the exact norms and within 2^−20 of them, checked in BigInt) and screenCandidates
 * (ties, NaN, too many ids; every length 1 .. 17, NaN and ±∞ in tail lanes, floors rising across chunks). The binding rejects short buffers and bad sizes.
 */
import { dequantizeRows, GgmlType } from '@bitnet/models';
import type { FloatMatrix, I8Activations, I8rMatrix, Kernels } from '../api/Kernels';
import { thrown } from '../testing/kernelCases';
import { describeNativeIsas, tsKernels } from '../testing/kernelIsaVariants';
import { emptyI8r, exactSquaredNorms, i8rSourceCase, makeActs, makeI8r, scaledF32, uniforms } from '../testing/kernelScreenCases';

/** The first index where a and b differ (−1: none); jest's toEqual is slow on large typed arrays. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

const ts = tsKernels as Kernels; // the TypeScript reference (its sources are always beside the specs)
const built = new Map<string, unknown>();
/** A case built once (TS reference included) and shared by every variant. */
function once<T>(key: string, make: () => T): T {
  if (!built.has(key)) built.set(key, make());
  return built.get(key) as T;
}

interface MatmulCase {
  w: I8rMatrix;
  a: I8Activations;
  want: Float32Array;
}
function matmulCase(label: string, w: () => I8rMatrix, a: (K: number) => I8Activations): MatmulCase {
  return once(`mm ${label}`, () => {
    const wm = w();
    const am = a(wm.cols);
    const want = new Float32Array(am.rows * wm.rows);
    ts.matmulI8rI8(wm, am, want);
    return { w: wm, a: am, want };
  });
}

const MS = [1, 2, 3, 4, 5, 6, 7, 8, 9];
const TYPES = ([GgmlType.F32, GgmlType.F16, GgmlType.BF16] as const).map((t) => [GgmlType[t], t] as const);
const SHAPES: Array<[number, number]> = [[1003, 32], [1003, 96], [601, 2560]];
const randomW = (N: number, K: number, seed: number) => () => {
  const u = uniforms(N * K + N, seed);
  return makeI8r(N, K, (n, k) => Math.floor((u[n * K + k] + 1) * 128), (n) => Math.fround(0.001 + 0.01 * Math.abs(u[N * K + n])));
};
const randomActs = (M: number, seed: number) => (K: number) => {
  const u = uniforms(M * K + M, seed);
  return makeActs(M, K, (m, k) => Math.floor((u[m * K + k] + 1) * 128) - 128, (m) => Math.fround(1 + 100 * Math.abs(u[M * K + m])));
};
/** Codes 0 / 255 and activations −128 / 127 by row: the int32 sums' extremes (K = 32768: |Σ c·q| up to 255 · 128 · 32768). */
const extremeW = (N: number, K: number) => () => makeI8r(N, K, (n, k) => (n % 3 === 0 ? 255 : n % 3 === 1 ? 0 : (k + n) % 2 ? 255 : 0), (n) => 1 + n);
const extremeActs = (M: number) => (K: number) => makeActs(M, K, (m, k) => (m % 2 === 0 ? 127 : m % 4 === 1 ? -128 : k % 3 ? -128 : 127), (m) => 3 + m);

describeNativeIsas('native screened-output kernels (I8r)', ({ k, generic }) => {
  it.each(SHAPES)('matmulI8rI8 %d×%d, M = 1 to 9: the TS kernels and generic bit for bit', (N, K) => {
    for (const M of MS) {
      const c = matmulCase(`${N} ${K} ${M}`, randomW(N, K, 7 * K + 1), randomActs(M, 11 * K + M));
      const got = new Float32Array(M * N);
      k.matmulI8rI8(c.w, c.a, got);
      expect(got).toEqual(c.want);
      const g = new Float32Array(M * N).fill(NaN);
      generic(() => k.matmulI8rI8(c.w, c.a, g));
      expect(g).toEqual(c.want);
    }
  });

  it('matmulI8rI8 at the int32 limits (K = 32768, codes 0 / 255, activations −128 / 127) and sums used as given', () => {
    for (const M of [1, 3, 9]) {
      const c = matmulCase(`extreme ${M}`, extremeW(19, 32768), extremeActs(M));
      const got = new Float32Array(M * 19);
      k.matmulI8rI8(c.w, c.a, got);
      expect(got).toEqual(c.want);
      expect(got[0]).toBe(Math.fround(Math.fround(127 * 32768 * 127) / 3)); // row 0 (codes 255 = 127) · activations 127
    }
    const c = matmulCase('sums', randomW(37, 96, 5), (K) => makeActs(4, K, (m, kk) => ((m * 31 + kk * 7) % 256) - 128, () => 2, (m, s) => s + [0, 1, -1000, 1 << 20][m]));
    const got = new Float32Array(4 * 37);
    k.matmulI8rI8(c.w, c.a, got);
    expect(got).toEqual(c.want);
  });

  it.each(TYPES)('encodeI8rRows from %s (ties, zero and subnormal rows, rows on the pool): TS and generic bit for bit', (_name, type) => {
    for (const [N, K] of [[9, 96], [37, 2560]]) {
      const w = i8rSourceCase(type, N, K, 100 + type + K);
      const want = once(`enc ${type} ${N} ${K}`, () => {
        const t = emptyI8r(w);
        ts.encodeI8rRows(w, t);
        return t;
      });
      const got = emptyI8r(w);
      k.encodeI8rRows(w, got);
      expect(got.scales).toEqual(want.scales);
      expect(firstDifference(got.codes, want.codes)).toBe(-1);
      const g = emptyI8r(w);
      generic(() => k.encodeI8rRows(w, g));
      expect(firstDifference(g.codes, want.codes)).toBe(-1);
      expect(g.scales).toEqual(want.scales);
    }
    // Row 2: ±(j + ½) with amax 127, so d = 1 and every value is a tie, rounded away from zero.
    const ties = i8rSourceCase(type, 9, 96, 100 + type + 96);
    const out = emptyI8r(ties);
    k.encodeI8rRows(ties, out);
    expect(out.scales[2]).toBe(1);
    const v = dequantizeRows(type, ties.data, 96, 2, 1);
    expect(Array.from(out.codes.subarray(2 * 96, 3 * 96), (c) => c - 128)).toEqual(Array.from(v, (x, j) => (j < 2 ? x : Math.sign(x) * (Math.abs(x) + 0.5))));
  });

  it.each(TYPES)('screenBoundsI8r on %s with its own codes and unrelated ones: TS and generic bit for bit', (_name, type) => {
    for (const [N, K] of [[9, 96], [67, 2560]]) {
      const w = i8rSourceCase(type, N, K, 200 + type + K);
      const own = emptyI8r(w);
      ts.encodeI8rRows(w, own);
      const u = uniforms(N * K + N, 300 + K);
      const other = makeI8r(N, K, (n, kk) => Math.floor((u[n * K + kk] + 1) * 128), (n) => (n === 0 ? 0 : Math.fround(Math.abs(u[N * K + n]) * 0.3)));
      for (const q of [own, other]) {
        const want = new Float32Array(2 * N);
        ts.screenBoundsI8r(w, q, want);
        const got = new Float32Array(2 * N);
        k.screenBoundsI8r(w, q, got);
        expect(got).toEqual(want);
        const g = new Float32Array(2 * N);
        generic(() => k.screenBoundsI8r(w, q, g));
        expect(g).toEqual(want);
      }
    }
  });

  it('screenBoundsI8r on wide-ranging weights, FLT_MAX, subnormals and −0 against unrelated codes and subnormal scales: TS bit for bit', () => {
    const [N, K] = [37, 96];
    const u = uniforms(2 * N * K, 4500);
    const v = Float32Array.from({ length: N * K }, (_, i) => u[i] * 2 ** Math.floor((u[N * K + i] + 1) * 40 - 40));
    v.fill(3.4028234663852886e38, 0, 3); // row 0: FLT_MAX (the sum of squares overflows: +Infinity)
    for (let kk = 0; kk < K; kk++) v[K + kk] = (kk - 48) * 1e-45; // row 1: f32 subnormals
    v.fill(-0, 2 * K, 3 * K); // row 2: −0
    const w: FloatMatrix = { type: GgmlType.F32, data: new Uint8Array(v.buffer), rows: N, cols: K };
    const q = makeI8r(N, K, (n, kk) => (n * 131 + kk * 17) % 256, (n) => (n === 1 ? 1e-45 : n === 2 ? 0 : Math.fround(2 ** (n - 20))));
    const want = new Float32Array(2 * N);
    ts.screenBoundsI8r(w, q, want);
    const got = new Float32Array(2 * N);
    k.screenBoundsI8r(w, q, got);
    expect(got).toEqual(want);
    expect(got[0]).toBe(Infinity);
    expect(got[5]).toBe(0); // row 2: ŵ = 0
  });

  it('screenBoundsI8r: at or above the exact norms and within 2^−20 of them (BigInt), unrelated codes included', () => {
    const w = i8rSourceCase(GgmlType.F32, 7, 96, 17);
    const own = emptyI8r(w);
    k.encodeI8rRows(w, own);
    const other = makeI8r(7, 96, (n, kk) => (n * 37 + kk * 11) % 256, (n) => Math.fround(0.013 * (n + 1)));
    for (const q of [own, other]) {
      const got = new Float32Array(14);
      k.screenBoundsI8r(w, q, got);
      exactSquaredNorms(w, q).forEach((exact, n) => {
        for (const j of [0, 1]) {
          const o = scaledF32(got[2 * n + j]); // out · 2^149; exact · 2^298
          expect(o * o >= exact[j]).toBe(true);
          expect(o * o * (1n << 40n) <= exact[j] * ((1n << 20n) + 1n) ** 2n).toBe(true);
        }
      });
    }
  });

  it('screenBoundsI8r on non-finite weights and scales: non-finite out[2n] where TS has it, no crash', () => {
    const K = 64;
    const v = new Float32Array(5 * K).fill(0.5);
    v[3] = Infinity; // row 0
    v[K + 5] = NaN; // row 1
    v[4 * K + 9] = -Infinity; // row 4
    const w: FloatMatrix = { type: GgmlType.F32, data: new Uint8Array(v.buffer), rows: 5, cols: K };
    const q = makeI8r(5, K, (n, kk) => (kk % 2 ? 192 : 128), (n) => [0.5, 0.5, Infinity, NaN, 3e38][n]);
    const got = new Float32Array(10);
    k.screenBoundsI8r(w, q, got);
    for (let n = 0; n < 5; n++) expect(Number.isFinite(got[2 * n])).toBe(false);
    const want = new Float32Array(10);
    ts.screenBoundsI8r(w, q, want);
    expect(got).toEqual(want);
  });

  it('screenCandidates: TS bit for bit (ties at the floor, ids too few: −2, NaN or infinite floor: −1)', () => {
    const V = 3001;
    const u = uniforms(3 * V, 99);
    const a = Float32Array.from({ length: V }, (_, n) => (n % 97 === 5 ? 7.25 : 4 * u[n]));
    const bounds = Float32Array.from({ length: 2 * V }, (_, i) => Math.abs(u[V + i]) * 0.01);
    for (let n = 5; n < V; n += 97) bounds.fill(0, 2 * n, 2 * n + 2); // ties: every 97th at the floor exactly
    const run = (kk: { screenCandidates: Kernels['screenCandidates'] }, aa: Float32Array, c0: number, c1: number, cap: number) => {
      const ids = new Int32Array(cap).fill(-9);
      return [kk.screenCandidates(aa, bounds.subarray(0, 2 * aa.length), c0, c1, ids), Array.from(ids)] as const;
    };
    for (const [c0, c1] of [[0, 0], [1, 0.5], [30, 2], [400, 50]]) {
      const [count] = run(ts, a, c0, c1, V);
      for (const cap of [V, count, Math.max(0, count - 1)]) {
        const want = run(ts, a, c0, c1, cap);
        expect(run(k, a, c0, c1, cap)).toEqual(want);
        expect(generic(() => run(k, a, c0, c1, cap))).toEqual(want);
      }
    }
    const nan = a.slice();
    nan[1234] = NaN;
    const inf = a.slice();
    inf[77] = Infinity;
    for (const bad of [nan, inf]) expect(run(k, bad, 1, 1, V)[0]).toBe(-1);
    expect(run(k, a.subarray(0, 1), 1, 1, 1)).toEqual([1, [0]]);
    expect(run(k, a.subarray(0, 1), 1, 1, 0)[0]).toBe(-2);
  });

  it('screenCandidates on every length 1 .. 17 and across chunks (rising floors, NaN and ±∞ in tail lanes, −2 at the exact count): TS and generic bit for bit', () => {
    const u = uniforms(3 * 9000, 123);
    const cases: Array<[string, Float32Array, Float32Array]> = [];
    for (let V = 1; V <= 17; V++) {
      const a = Float32Array.from({ length: V }, (_, n) => Math.fround(u[n] * 2));
      const b = Float32Array.from({ length: 2 * V }, (_, i) => Math.fround(Math.abs(u[V + i]) * 0.5));
      cases.push([`V=${V}`, a, b]);
      for (const bad of [NaN, Infinity, -Infinity]) {
        const t = a.slice();
        t[V - 1] = bad; // the last lane (a tail lane unless V % 8 = 0)
        cases.push([`V=${V} last ${bad}`, t, b]);
      }
      const tb = b.slice();
      tb[2 * V - 1] = NaN; // a NaN bound in the last lane
      cases.push([`V=${V} bound NaN`, a, tb]);
      cases.push([`V=${V} all −∞`, new Float32Array(V).fill(-Infinity), b]);
    }
    // 9000 and 8995 tokens (5 chunks of 2048, the last partial; 8995 ends in a group of 3): rising, falling, flat and random logits
    for (const V of [9000, 8995]) {
      const b = Float32Array.from({ length: 2 * V }, (_, i) => Math.fround(Math.abs(u[V + i]) * 0.01));
      cases.push([`rising ${V}`, Float32Array.from({ length: V }, (_, n) => n * 0.001), b]);
      cases.push([`falling ${V}`, Float32Array.from({ length: V }, (_, n) => -n * 0.001), b]);
      cases.push([`flat ${V}`, new Float32Array(V).fill(3), b]);
      cases.push([`random ${V}`, Float32Array.from({ length: V }, (_, n) => Math.fround(u[n] * 4)), b]);
      const late = Float32Array.from({ length: V }, (_, n) => Math.fround(u[n] * 4));
      late[V - 1] = 100; // the floor jumps in the last (tail) lane: everything listed before it goes
      cases.push([`late max ${V}`, late, b]);
      const nanLate = late.slice();
      nanLate[V - 2] = NaN;
      cases.push([`NaN late ${V}`, nanLate, b]);
    }
    for (const [label, a, b] of cases) {
      for (const [c0, c1] of [[0, 0], [1, 2], [1e3, 0]]) {
        const V = a.length;
        const count = ts.screenCandidates(a, b, c0, c1, new Int32Array(V));
        for (const cap of new Set([V, Math.max(0, count), Math.max(0, count - 1), 0])) {
          const want = new Int32Array(cap).fill(-9);
          const wantR = ts.screenCandidates(a, b, c0, c1, want);
          const got = new Int32Array(cap).fill(-9);
          const gotR = k.screenCandidates(a, b, c0, c1, got);
          const g = new Int32Array(cap).fill(-9);
          const gR = generic(() => k.screenCandidates(a, b, c0, c1, g));
          if (gotR !== wantR || firstDifference(new Uint8Array(got.buffer), new Uint8Array(want.buffer)) !== -1) throw new Error(`${label} c = ${c0}, ${c1} cap ${cap}: ${gotR} vs ${wantR}`);
          if (gR !== wantR || firstDifference(new Uint8Array(g.buffer), new Uint8Array(want.buffer)) !== -1) throw new Error(`generic ${label} c = ${c0}, ${c1} cap ${cap}`);
        }
      }
    }
  });

  it('the binding rejects short buffers, K past 32768 or off 32, and wrong types with a RangeError or TypeError', () => {
    const w = makeI8r(5, 64, () => 128, () => 1);
    const a = makeActs(2, 64, () => 1, () => 1);
    expect(thrown(() => k.matmulI8rI8({ ...w, codes: w.codes.subarray(1) }, a, new Float32Array(10))).message).toMatch(/codes holds 319 elements but N × K needs 320/);
    expect(thrown(() => k.matmulI8rI8(w, a, new Float32Array(9))).message).toMatch(/out holds 9 elements/);
    expect(thrown(() => k.matmulI8rI8({ ...w, scales: new Float32Array(4) }, a, new Float32Array(10))).message).toMatch(/scales holds 4/);
    expect(thrown(() => k.matmulI8rI8({ ...w, cols: 48 }, a, new Float32Array(10))).name).toBe('RangeError');
    const big = { rows: 1, cols: 32800, codes: new Uint8Array(32800), scales: new Float32Array(1) };
    expect(thrown(() => k.matmulI8rI8(big, makeActs(1, 32800, () => 0, () => 1), new Float32Array(1))).message).toMatch(/K \(w.cols\) = 32800.* is not an integer in \[0, 32768\]/);
    expect(thrown(() => k.matmulI8rI8(w, { ...a, qs: new Uint8Array(128) as unknown as Int8Array }, new Float32Array(10))).name).toBe('TypeError');
    const src = i8rSourceCase(GgmlType.F16, 9, 96, 1);
    expect(thrown(() => k.encodeI8rRows(src, { ...emptyI8r(src), scales: new Float32Array(8) })).message).toMatch(/scales holds 8/);
    expect(thrown(() => k.screenBoundsI8r(src, emptyI8r(src), new Float32Array(17))).message).toMatch(/out holds 17 elements but 2 × N needs 18/);
    expect(thrown(() => k.screenCandidates(new Float32Array(4), new Float32Array(7), 1, 1, new Int32Array(4))).message).toMatch(/bounds holds 7/);
  });
});
