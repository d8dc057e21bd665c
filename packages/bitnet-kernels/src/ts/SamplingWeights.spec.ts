import { rng } from '@bitnet/models/testing';
import { expWeight, sumExp, weighLogits } from './SamplingWeights';

/** weighLogits written out plainly: the contract's formulas, sums in id order, a stable grouping by band. */
function reference(logits: Float32Array, max: number, temperature: number, bandScale: number, bands: number) {
  const n = logits.length;
  const weights = Array.from(logits, (l) => expWeight((l - max) / temperature));
  const band = Array.from(logits, (l) => {
    const d = (max - l) * bandScale;
    if (!(d < bands - 1)) return bands - 1;
    return d < 1 ? 0 : Math.floor(d);
  });
  const bandWeight = new Array<number>(bands).fill(0);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += weights[i];
    bandWeight[band[i]] += weights[i];
  }
  const ids = Array.from({ length: n }, (_, i) => i).sort((a, b) => band[a] - band[b] || a - b);
  const start = Array.from({ length: bands + 1 }, (_, b) => band.filter((x) => x < b).length);
  return { weights, bandWeight, sum, ids, start };
}

function run(logits: Float32Array, max: number, temperature: number, bandScale: number, bands: number) {
  const n = logits.length;
  const out = { weights: new Float64Array(n), ids: new Int32Array(n), bandWeight: new Float64Array(bands), start: new Int32Array(bands + 1) };
  // stale contents must not leak into the results
  out.bandWeight.fill(7);
  out.start.fill(-3);
  const sum = weighLogits(logits, max, temperature, bandScale, out.weights, out.ids, out.bandWeight, out.start);
  return { weights: Array.from(out.weights), bandWeight: Array.from(out.bandWeight), sum, ids: Array.from(out.ids), start: Array.from(out.start) };
}

describe('expWeight', () => {
  it('is e^x within 4 ulp over the whole range (against Math.exp, itself within 1 ulp)', () => {
    let worst = 0;
    for (let i = 0; i <= 200000; i++) {
      const x = -708 + (i / 200000) * 1417;
      const e = Math.exp(x);
      worst = Math.max(worst, Math.abs(expWeight(x) - e) / e);
    }
    expect(worst).toBeLessThan(4 * 2 ** -53);
    expect(worst).toBeGreaterThan(0); // a different function from Math.exp, bit for bit
  });

  it('is exactly 1 at 0 and −0, 0 below −708 and at −∞, +∞ above 709, NaN for NaN', () => {
    expect(expWeight(0)).toBe(1);
    expect(expWeight(-0)).toBe(1);
    expect(expWeight(-708.5)).toBe(0);
    expect(expWeight(-Infinity)).toBe(0);
    expect(expWeight(-708)).toBeGreaterThan(0);
    expect(expWeight(709)).toBeLessThan(Infinity);
    expect(expWeight(709.5)).toBe(Infinity);
    expect(expWeight(NaN)).toBeNaN();
  });

  it('stays within 5e-16 of e^x on both sides of the points where k = round(x·log2 e) changes', () => {
    for (const k of [-3, -2, -1, 1, 2]) {
      const x = (k + 0.5) * Math.LN2;
      for (const d of [-1e-12, 0, 1e-12]) expect(Math.abs(expWeight(x + d) / Math.exp(x + d) - 1)).toBeLessThan(5e-16);
    }
  });
});

describe('weighLogits', () => {
  it('matches the plainly written contract: weights, id-order sums, bands and the grouped ids', () => {
    const next = rng(41);
    const cases: Array<[Float32Array, number, number, number]> = [];
    for (const n of [1, 2, 7, 33, 1000]) {
      const l = Float32Array.from({ length: n }, () => (next() - 0.5) * 20);
      cases.push([l, 1, 4, 128], [l, 0.37, 4, 16], [l, 3, 1, 1], [l, 1, 0, 8]);
    }
    // ties, signed zeros, −∞, NaN, a logit far below (weight 0), values above `max`
    const edge = Float32Array.of(2, 2, 0, -0, -Infinity, NaN, -1e30, 1.5, 2, -3.25, 2.5, -1e-40);
    cases.push([edge, 1, 4, 128], [edge, 0.5, 2, 4]);
    for (const [l, t, bs, bands] of cases) {
      let max = -Infinity;
      for (const v of l) if (v > max) max = v;
      if (l === edge) max = 2; // 2.5 lies above: band 0, weight above 1
      const got = run(l, max, t, bs, bands);
      const want = reference(l, max, t, bs, bands);
      expect(got).toEqual(want);
    }
  });

  it('puts the largest logit in band 0 with weight 1, −∞ and NaN in the last band, and counts every id once', () => {
    const l = Float32Array.of(-Infinity, 3, NaN, 1, 3);
    const r = run(l, 3, 1, 4, 8);
    expect(r.weights.slice(0, 2)).toEqual([0, 1]);
    expect(r.weights[2]).toBeNaN();
    expect(r.start).toEqual([0, 2, 2, 2, 2, 2, 2, 2, 5]);
    expect(r.ids).toEqual([1, 4, 0, 2, 3]);
    expect(r.sum).toBeNaN();
  });
});

describe('sumExp', () => {
  it('adds expWeight(x − max) over the finite and +∞ values in eight lanes (i mod 8), then the fixed tree', () => {
    const next = rng(43);
    for (const n of [0, 1, 7, 8, 9, 100, 4099]) {
      const x = Float32Array.from({ length: n }, (_, i) => (i % 11 === 5 ? -Infinity : i % 13 === 7 ? NaN : (next() - 0.5) * 30));
      let max = -Infinity;
      for (const v of x) if (v > max) max = v;
      const lanes = [0, 0, 0, 0, 0, 0, 0, 0];
      x.forEach((v, i) => {
        if (v > -Infinity) lanes[i % 8] += expWeight(v - max);
      });
      const want = lanes[0] + lanes[4] + (lanes[2] + lanes[6]) + (lanes[1] + lanes[5] + (lanes[3] + lanes[7]));
      expect(sumExp(x, max)).toBe(want);
      // and it is the softmax normaliser: within rounding of the plain sum of e^(x − max)
      let plain = 0;
      for (const v of x) if (v > -Infinity) plain += Math.exp(v - max);
      expect(Math.abs(sumExp(x, max) - plain)).toBeLessThanOrEqual(1e-14 * Math.max(1, plain));
    }
  });
});
