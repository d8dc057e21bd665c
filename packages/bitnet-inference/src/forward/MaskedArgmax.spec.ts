import { rng } from '@bitnet/models/testing';
import { argmax } from '../sampling/Sampler';
import { LAZY_MASK_CANDIDATES, type LogitMask, largestLogits, settleMaskedArgmax } from './MaskedArgmax';

/** Ids in argmax order (larger first, lower id on ties), NaN and −Infinity left out: the plain way. */
function sortedIds(row: Float32Array): number[] {
  return [...row.keys()].filter((i) => row[i] > -Infinity).sort((a, b) => (row[a] === row[b] ? a - b : row[b] - row[a]));
}

/** A row with many ties (values from a few levels), some −Infinity and NaN, and an +Infinity now and then. */
function tiedRow(next: () => number, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => {
    const u = next();
    if (u < 0.05) return -Infinity;
    if (u < 0.08) return NaN;
    if (u < 0.085) return Infinity;
    return Math.floor(next() * 12) - 6;
  });
}

/** A mask that allows `allowed` ids, counting its calls; lazy when `withAllows`. */
function maskOf(allowed: Set<number>, withAllows: boolean): { mask: LogitMask; calls: () => number; checks: () => number } {
  let calls = 0;
  let checks = 0;
  const mask: LogitMask = (l) => {
    calls++;
    for (let i = 0; i < l.length; i++) if (!allowed.has(i)) l[i] = -Infinity;
  };
  if (withAllows) mask.allows = (id) => (checks++, allowed.has(id));
  return { mask, calls: () => calls, checks: () => checks };
}

describe('largestLogits', () => {
  it('returns the k largest in argmax order, ties to the lower id, without NaN or −Infinity', () => {
    const next = rng(5);
    for (let t = 0; t < 300; t++) {
      const row = tiedRow(next, 1 + Math.floor(next() * 200));
      const k = 1 + Math.floor(next() * 20);
      expect(largestLogits(row, k)).toEqual(sortedIds(row).slice(0, k));
    }
    expect(largestLogits(Float32Array.of(NaN, -Infinity, NaN), 4)).toEqual([]);
    expect(largestLogits(Float32Array.of(1, 3, 3, Infinity, 2), 3)).toEqual([3, 1, 2]);
  });
});

describe('settleMaskedArgmax', () => {
  it('leaves the masked argmax as the argmax, every banned token −Infinity, with or without the mask', () => {
    const next = rng(11);
    let lazyRows = 0;
    for (let t = 0; t < 2000; t++) {
      const n = 1 + Math.floor(next() * 120);
      const row = tiedRow(next, n);
      const density = [0.02, 0.2, 0.6, 1][t % 4];
      const allowed = new Set([...row.keys()].filter(() => next() < density));
      const want = row.slice();
      maskOf(allowed, false).mask(want);
      const got = row.slice();
      const m = maskOf(allowed, true);
      const masked = settleMaskedArgmax(got, m.mask, argmax);
      expect([t, argmax(got)]).toEqual([t, argmax(want)]);
      expect([t, [...got.keys()].filter((i) => !allowed.has(i) && got[i] !== -Infinity)]).toEqual([t, []]);
      // the mask runs exactly when none of the largest logits is an allowed token (or row[0] is NaN)
      const topAllowed = sortedIds(row).slice(0, LAZY_MASK_CANDIDATES).some((i) => allowed.has(i));
      expect([t, masked, m.calls()]).toEqual([t, !topAllowed || Number.isNaN(row[0]), masked ? 1 : 0]);
      if (!masked) {
        lazyRows++;
        expect(got.filter((v) => v > -Infinity || Number.isNaN(v)).length).toBe(1);
      }
    }
    expect(lazyRows).toBeGreaterThan(1000);
  });

  it('checks one token when the largest logit is allowed, and masks when none of the largest is', () => {
    const row = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
    const top = argmax(row);
    const one = maskOf(new Set([top, 3]), true);
    expect(settleMaskedArgmax(row.slice(), one.mask, argmax)).toBe(false);
    expect([one.calls(), one.checks()]).toEqual([0, 1]);

    const order = sortedIds(row);
    const far = maskOf(new Set([order[LAZY_MASK_CANDIDATES]]), true); // the first allowed one is just past the checks
    const got = row.slice();
    expect(settleMaskedArgmax(got, far.mask, argmax)).toBe(true);
    expect([far.calls(), far.checks(), argmax(got)]).toEqual([1, LAZY_MASK_CANDIDATES, order[LAZY_MASK_CANDIDATES]]);

    const plain = maskOf(new Set([top]), false); // no allows: always the mask
    expect(settleMaskedArgmax(row.slice(), plain.mask, argmax)).toBe(true);
    expect(plain.calls()).toBe(1);
  });

  it('masks a row whose first logit is NaN (an argmax returns 0 for it), and passes the mask\'s errors on', () => {
    const m = maskOf(new Set([0, 1]), true);
    const row = Float32Array.of(NaN, 5, 1);
    expect(settleMaskedArgmax(row, m.mask, argmax)).toBe(true);
    expect([m.calls(), m.checks(), argmax(row)]).toEqual([1, 0, 0]);
    const failing: LogitMask = () => {
      throw new Error('dead end');
    };
    failing.allows = () => false;
    expect(() => settleMaskedArgmax(Float32Array.of(1, 2), failing, argmax)).toThrow('dead end');
  });
});
