import { createKernels } from '@bitnet/kernels';
import { ConfigError } from '../errors/InferenceError';
import { MAX_TOP_LOGPROBS, checkLogprobs, pieceLogprobs, tokenLogprobs } from './Logprobs';

/** The plain definition: log-softmax in float64 over every logit, sorted (ties: lower id first). */
function reference(logits: Float32Array): Array<{ id: number; logprob: number }> {
  let max = -Infinity;
  for (const x of logits) if (x > max) max = x;
  let sum = 0;
  for (const x of logits) if (x > -Infinity) sum += Math.exp(x - max);
  const lse = max + Math.log(sum);
  return Array.from(logits, (x, id) => ({ id, logprob: x - lse })).sort((a, b) => b.logprob - a.logprob || a.id - b.id);
}

function randomLogits(n: number, seed: number, scale = 8): Float32Array {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Float32Array.from({ length: n }, () => (next() - 0.5) * scale);
}

describe('tokenLogprobs', () => {
  it('gives the same numbers with the kernels createKernels() picks (native when built) as with the TypeScript sumExp', () => {
    const kernels = createKernels();
    for (const [n, seed] of [[128256, 11], [1001, 12], [9, 13]]) {
      const logits = randomLogits(n, seed, 20);
      for (let i = 3; i < n; i += 97) logits[i] = i % 2 ? -Infinity : NaN;
      expect(tokenLogprobs(logits, 5, 20, kernels)).toEqual(tokenLogprobs(logits, 5, 20));
    }
  });

  it.each([
    [1000, 5, 1],
    [4096, 20, 2],
    [128256, 20, 3],
    [7, 20, 4],
  ])('matches the reference log-softmax (vocabulary %i, top %i)', (n, top, seed) => {
    const logits = randomLogits(n, seed);
    const ref = reference(logits);
    const chosen = ref[Math.min(3, n - 1)].id;
    const r = tokenLogprobs(logits, chosen, top);
    expect(r.logprob).toBeCloseTo(ref.find((x) => x.id === chosen)!.logprob, 10);
    const k = Math.min(top, n);
    expect(r.topIds).toEqual(ref.slice(0, k).map((x) => x.id));
    r.topLogprobs.forEach((lp, i) => expect(lp).toBeCloseTo(ref[i].logprob, 10));
  });

  it('keeps the alternatives sorted, their probabilities summing to at most 1, and holds the chosen token when it is among them', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const logits = randomLogits(2000, seed, 20);
      const r = tokenLogprobs(logits, 0, 20);
      for (let i = 1; i < r.topLogprobs.length; i++) expect(r.topLogprobs[i]).toBeLessThanOrEqual(r.topLogprobs[i - 1]);
      expect(r.topLogprobs.reduce((a, lp) => a + Math.exp(lp), 0)).toBeLessThanOrEqual(1 + 1e-12);
      const best = r.topIds[4];
      const again = tokenLogprobs(logits, best, 5);
      expect(again.topIds).toContain(best);
      expect(again.logprob).toBe(again.topLogprobs[again.topIds.indexOf(best)]);
    }
  });

  it('sums to 1 over the whole vocabulary when every token is asked for', () => {
    const logits = randomLogits(MAX_TOP_LOGPROBS, 9, 30);
    const r = tokenLogprobs(logits, 0, MAX_TOP_LOGPROBS);
    expect(r.topLogprobs.reduce((a, lp) => a + Math.exp(lp), 0)).toBeCloseTo(1, 12);
  });

  it('orders ties by id, stays finite with huge logits and gives −Infinity to masked tokens', () => {
    const logits = Float32Array.from([1, 3, 3, -Infinity, 3, NaN, 1000, 1000]);
    const r = tokenLogprobs(logits, 3, 5);
    expect(r.topIds).toEqual([6, 7, 1, 2, 4]);
    expect(r.topLogprobs[0]).toBeCloseTo(-Math.log(2), 12);
    expect(r.logprob).toBe(-Infinity);
    const flat = tokenLogprobs(new Float32Array(4), 2, 3);
    expect(flat.topIds).toEqual([0, 1, 2]);
    expect(flat.logprob).toBeCloseTo(-Math.log(4), 12);
  });

  it('reports the chosen token only with 0 alternatives', () => {
    const r = tokenLogprobs(Float32Array.from([0, 1, 2]), 2, 0);
    expect(r.topIds).toEqual([]);
    expect(r.topLogprobs).toEqual([]);
    expect(r.logprob).toBeCloseTo(2 - Math.log(1 + Math.E + Math.E ** 2), 12);
  });
});

describe('pieceLogprobs', () => {
  it("adds each id's text and raw bytes (a split character keeps its bytes)", () => {
    const bytes: Record<number, number[]> = { 1: [0x63, 0x61], 2: [0xc3], 3: [0xa9] };
    const tok = { tokenBytes: (id: number) => Uint8Array.from(bytes[id]), decode: (ids: readonly number[]) => Buffer.from(ids.flatMap((i) => bytes[i])).toString('utf8') };
    const p = pieceLogprobs(tok, 2, { logprob: -0.5, topIds: [2, 1], topLogprobs: [-0.5, -1] });
    expect(p).toEqual({
      logprob: -0.5,
      bytes: [0xc3],
      topLogprobs: [
        { id: 2, text: '\ufffd', logprob: -0.5, bytes: [0xc3] },
        { id: 1, text: 'ca', logprob: -1, bytes: [0x63, 0x61] },
      ],
    });
  });
});

describe('checkLogprobs', () => {
  it('accepts undefined and 0..20, rejects anything else with ConfigError(logprobs)', () => {
    for (const ok of [undefined, 0, 5, 20]) expect(() => checkLogprobs(ok)).not.toThrow();
    for (const bad of [-1, 21, 2.5, '3', true, null]) {
      expect(() => checkLogprobs(bad)).toThrow(ConfigError);
      try {
        checkLogprobs(bad);
      } catch (e) {
        expect((e as ConfigError).field).toBe('logprobs');
      }
    }
  });
});
