/**
 * The native sampler kernels (weighLogits, argmax, sumExp) on every instruction set this machine can run (and
 * the SIMDe-emulated build when present), bit for bit against the TypeScript kernels and the generic table.
 */
import { rng } from '@bitnet/models/testing';
import type { Kernels } from '../api/Kernels';
import { describeNativeIsas, tsKernels } from '../testing/kernelIsaVariants';
import { argmax as argmaxTs } from '../ts/Argmax';
import { sumExp as sumExpTs, weighLogits as weighLogitsTs } from '../ts/SamplingWeights';

interface Weighed {
  sum: number;
  weights: Float64Array;
  ids: Int32Array;
  bandWeight: Float64Array;
  start: Int32Array;
}

function weigh(k: Pick<Kernels, 'weighLogits'>, logits: Float32Array, max: number, temperature: number, bandScale: number, bands: number): Weighed {
  const n = logits.length;
  const r = { sum: 0, weights: new Float64Array(n).fill(5), ids: new Int32Array(n).fill(-1), bandWeight: new Float64Array(bands).fill(9), start: new Int32Array(bands + 1).fill(-2) };
  r.sum = k.weighLogits(logits, max, temperature, bandScale, r.weights, r.ids, r.bandWeight, r.start);
  return r;
}

/** Logit rows: a vocabulary's worth, odd lengths (SIMD tails), ties, ±0, ±∞, NaN, huge spreads. */
function rows(): Array<{ logits: Float32Array; max: number }> {
  const next = rng(77);
  const out: Array<{ logits: Float32Array; max: number }> = [];
  const add = (logits: Float32Array, max?: number) => {
    let m = -Infinity;
    for (const v of logits) if (v > m) m = v;
    out.push({ logits, max: max ?? m });
  };
  add(Float32Array.from({ length: 128256 }, () => (next() + next() + next() - 1.5) * 6));
  for (const n of [1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100]) add(Float32Array.from({ length: n }, () => (next() - 0.5) * 40));
  const edge = Float32Array.from({ length: 203 }, (_, i) => [0, -0, -Infinity, NaN, 4, 4, -1e30, 1e-42, -800, 3.999, -4][i % 11] + (i % 13 === 0 ? 0.25 : 0));
  add(edge);
  add(edge, 3); // logits above max: band 0, weights above 1
  add(edge, 2000); // x above 709 for none, below −708 for many
  add(Float32Array.from({ length: 67 }, (_, i) => (i % 2 ? -2000 : 1000))); // (l − max) / T past both ends
  add(new Float32Array(45).fill(-Infinity), 0);
  return out;
}

/** The first index where two results differ (NaN equal to NaN), or '' — quick on vocabulary-sized arrays where toEqual is slow. */
function firstDifference(a: Weighed, b: Weighed): string {
  const same = (x: number, y: number) => x === y || (x !== x && y !== y);
  if (!same(a.sum, b.sum)) return `sum ${a.sum} vs ${b.sum}`;
  for (const key of ['weights', 'ids', 'bandWeight', 'start'] as const) {
    const x = a[key], y = b[key];
    if (x.length !== y.length) return `${key} length`;
    for (let i = 0; i < x.length; i++) if (!same(x[i], y[i])) return `${key}[${i}] ${x[i]} vs ${y[i]}`;
  }
  return '';
}

const SETTINGS: Array<[number, number, number]> = [
  [1, 4, 128],
  [0.7, 4, 128],
  [2.5, 1, 16],
  [0.05, 4, 256],
  [1, 0, 1],
  [1e-3, 1e3, 200],
];

describeNativeIsas('native weighLogits', ({ k, generic }) => {
  it('gives the TypeScript kernel\'s and the generic table\'s bits: weights, sums, bands and grouped ids', () => {
    for (const { logits, max } of rows())
      for (const [t, bs, bands] of SETTINGS) {
        const got = weigh(k, logits, max, t, bs, bands);
        const where = `n ${logits.length}, max ${max}, T ${t}, bandScale ${bs}, ${bands} bands`;
        expect([where, firstDifference(got, weigh({ weighLogits: weighLogitsTs }, logits, max, t, bs, bands))]).toEqual([where, '']);
        if (tsKernels) expect([where, firstDifference(got, weigh(tsKernels, logits, max, t, bs, bands))]).toEqual([where, '']);
        expect([where, firstDifference(got, generic(() => weigh(k, logits, max, t, bs, bands)))]).toEqual([where, '']);
      }
  });

  it('takes stale output buffers and sub-views without reading or writing past them', () => {
    const logits = Float32Array.from({ length: 40 }, (_, i) => Math.sin(i) * 5);
    const arena = new Float64Array(100).fill(3);
    const weights = arena.subarray(10, 50);
    const ids = new Int32Array(60).fill(-7).subarray(5, 45);
    const bandWeight = new Float64Array(8).fill(1);
    const start = new Int32Array(9).fill(1);
    const sum = k.weighLogits(logits, 5, 1, 4, weights, ids, bandWeight, start);
    const want = weigh({ weighLogits: weighLogitsTs }, logits, 5, 1, 4, 8);
    expect([sum, Array.from(weights), Array.from(ids), Array.from(bandWeight), Array.from(start)]).toEqual([want.sum, Array.from(want.weights), Array.from(want.ids), Array.from(want.bandWeight), Array.from(want.start)]);
    expect(arena.subarray(0, 10).every((v) => v === 3) && arena.subarray(50).every((v) => v === 3)).toBe(true);
  });

  it('argmax: the loop\'s index on vocabularies, every length around the vector widths, ties, ±0, ±∞ and NaN', () => {
    const next = rng(78);
    const rows: Float32Array[] = [];
    for (let n = 1; n <= 70; n++) rows.push(Float32Array.from({ length: n }, () => Math.round((next() - 0.5) * 8)));
    const vocab = Float32Array.from({ length: 128256 }, () => (next() - 0.5) * 30);
    rows.push(vocab);
    for (const at of [0, 1, 15, 16, 17, 128255, 64000]) {
      const v = Float32Array.from(vocab);
      v[at] = 99;
      rows.push(v);
      const tie = Float32Array.from(v);
      tie[(at + 77) % v.length] = 99; // the same largest twice: the first wins
      rows.push(tie);
    }
    const special = (fill: number[], n: number) => Float32Array.from({ length: n }, (_, i) => fill[i % fill.length]);
    for (const n of [1, 2, 15, 16, 17, 31, 32, 33, 100]) {
      rows.push(special([NaN, 1, 2], n), special([1, NaN, 2, NaN], n), special([-Infinity], n), special([-Infinity, NaN], n), special([NaN], n));
      rows.push(special([-0, 0, -1], n), special([0, -0, -1], n), special([-1, -0, 0], n), special([Infinity, 3, Infinity], n), special([-5, -Infinity, NaN, -5], n));
    }
    for (const x of rows) {
      const want = argmaxTs(x);
      expect([x.length, k.argmax(x)]).toEqual([x.length, want]);
      expect([x.length, generic(() => k.argmax(x))]).toEqual([x.length, want]);
      if (tsKernels) expect(tsKernels.argmax(x)).toBe(want);
    }
  });

  it('sumExp: the TypeScript kernel\'s bits on every length around the vector widths, a vocabulary, −∞, NaN and values far below max', () => {
    const next = rng(79);
    const rows: Array<[Float32Array, number]> = [];
    for (let n = 0; n <= 40; n++) rows.push([Float32Array.from({ length: n }, () => (next() - 0.5) * 20), 10]);
    rows.push([Float32Array.from({ length: 128256 }, () => (next() + next() - 1) * 12), 12]);
    const special = Float32Array.from({ length: 203 }, (_, i) => [-Infinity, NaN, 3, -800, 0, -0, 2.5, -1e30][i % 8] + (i % 5 === 0 ? 0.125 : 0));
    rows.push([special, 3.125], [special, 1000]);
    for (const [x, max] of rows) {
      const want = sumExpTs(x, max);
      expect([x.length, max, k.sumExp(x, max)]).toEqual([x.length, max, want]);
      expect([x.length, max, generic(() => k.sumExp(x, max))]).toEqual([x.length, max, want]);
      if (tsKernels) expect(tsKernels.sumExp(x, max)).toBe(want);
    }
  });

  it('the binding refuses what would read or write out of bounds, naming the argument (unchecked calls)', () => {
    const thrown = (f: () => unknown): Error => {
      try {
        f();
      } catch (e) {
        return e as Error;
      }
      throw new Error('no error');
    };
    const l = new Float32Array(10);
    const w = (n: number) => new Float64Array(n);
    const i = (n: number) => new Int32Array(n);
    const cases: Array<[() => unknown, string, RegExp]> = [
      [() => k.weighLogits(l, 0, 1, 4, w(9), i(10), w(4), i(5)), 'RangeError', /^weighLogits: weights holds 9/],
      [() => k.weighLogits(l, 0, 1, 4, w(10), i(9), w(4), i(5)), 'RangeError', /^weighLogits: ids holds 9/],
      [() => k.weighLogits(l, 0, 1, 4, w(10), i(10), w(4), i(4)), 'RangeError', /^weighLogits: start holds 4/],
      [() => k.weighLogits(l, 0, 1, 4, w(10), i(10), w(0), i(1)), 'RangeError', /^weighLogits: bandWeight.length must be 1 .. 256, got 0/],
      [() => k.weighLogits(l, 0, 1, 4, w(10), i(10), w(300), i(301)), 'RangeError', /^weighLogits: bandWeight.length must be 1 .. 256, got 300/],
      [() => k.weighLogits(l, 0, 1, 4, new Float32Array(10) as unknown as Float64Array, i(10), w(4), i(5)), 'TypeError', /^weighLogits: weights must be a/],
      [() => k.argmax(new Float32Array(0)), 'RangeError', /^argmax: x is empty/],
      [() => k.argmax(new Float64Array(3) as unknown as Float32Array), 'TypeError', /^argmax: x must be a/],
      [() => k.sumExp(new Int8Array(3) as unknown as Float32Array, 0), 'TypeError', /^sumExp: x must be a/],
    ];
    for (const [f, name, message] of cases) {
      const e = thrown(f);
      expect([e.name, e.message]).toEqual([name, expect.stringMatching(message)]);
    }
    // bands past the last: NaN and ∞ inputs never index outside bandWeight / start
    const out = { w: w(4), ids: i(4), bw: w(3), start: i(4) };
    k.weighLogits(Float32Array.of(NaN, Infinity, -Infinity, 1e38), NaN, 1, 1e300, out.w, out.ids, out.bw, out.start);
    expect(Array.from(out.start)).toEqual([0, 0, 0, 4]);
  });
});
