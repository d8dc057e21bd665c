/**
 * The sampler's walk order without a full sort (CandidateOrder) and the draws built on it: the order
 * is exactly the comparator sort the sampler used before (logit descending, lower id first; ties, ±0,
 * ±∞), and the sampler picks the same ids as that implementation — kept here as the oracle — over
 * vocabularies from 7 to 128256 ids, every top-k regime (partial selection, a sorted prefix, the whole
 * vocabulary), top-p, min-p and temperatures, with banned (−∞) and tied logits. With top-k off the
 * weights are @bitnet/kernels' expWeight (the oracle uses it there too; Math.exp elsewhere), and the
 * native weighLogits gives the TypeScript one's picks.
 */
import { createKernels, expWeight } from '@bitnet/kernels';
import { SeededRandom } from '@bitnet/models';
import { CandidateOrder } from './CandidateOrder';
import { Sampler, type SamplerSettings } from './Sampler';

/** The order the sampler used before: a comparator sort of every id. */
function sortedIds(values: Float32Array): Int32Array {
  const idx = Int32Array.from({ length: values.length }, (_, i) => i);
  return idx.sort((a, b) => values[b] - values[a] || a - b);
}

/**
 * The sampler's draw as it was before CandidateOrder (top-k by a full sort or a sorted window, then
 * softmax, top-p, min-p); with top-k off its weights are expWeight's, as the whole-vocabulary draw's are.
 */
function oracleDraw(logits: Float32Array, c: SamplerSettings, u: number): number {
  const n = logits.length;
  const k = c.topK > 0 ? Math.min(c.topK, n) : n;
  const exp = k === n ? expWeight : Math.exp;
  const ids = sortedIds(logits).subarray(0, k);
  let max = -Infinity;
  for (let i = 0; i < k; i++) max = Math.max(max, logits[ids[i]]);
  const probs = new Float64Array(k);
  let sum = 0;
  for (let i = 0; i < k; i++) sum += probs[i] = exp((logits[ids[i]] - max) / c.temperature);
  let keep = k;
  if (c.topP < 1) {
    let acc = 0;
    for (let i = 0; i < k; i++) {
      acc += probs[i] / sum;
      if (acc >= c.topP) {
        keep = i + 1;
        break;
      }
    }
  }
  if (c.minP > 0) {
    const floor = (probs[0] / sum) * c.minP;
    let m = 1;
    while (m < keep && probs[m] / sum >= floor) m++;
    keep = m;
  }
  let total = 0;
  for (let i = 0; i < keep; i++) total += probs[i];
  if (!(total > 0)) return ids[0];
  let r = u * total;
  for (let i = 0; i < keep; i++) {
    r -= probs[i];
    if (r < 0) return ids[i];
  }
  return ids[keep - 1];
}

type Shape = 'normal' | 'peaky' | 'flat' | 'steps' | 'banned';

function makeLogits(n: number, shape: Shape, rng: SeededRandom): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => {
    const g = (rng.next() + rng.next() + rng.next() + rng.next() - 2) * 4;
    if (shape === 'normal') return g;
    if (shape === 'peaky') return i % 997 === 3 ? 25 + g : g - 5;
    if (shape === 'flat') return i % 3 === 0 ? 0 : -0; // every logit ties (−0 = +0)
    if (shape === 'steps') return Math.round(g * 2) / 2; // few distinct values: ties inside and across bands
    return rng.next() < 0.6 ? -Infinity : g; // a grammar mask or −100 biases
  });
}

describe('CandidateOrder', () => {
  it('walks the ids exactly as a comparator sort orders them (ties by id, −0 = +0, ±∞)', () => {
    const rng = new SeededRandom(5);
    for (const n of [1, 2, 7, 300, 20000]) {
      for (const shape of ['normal', 'peaky', 'flat', 'steps', 'banned'] as Shape[]) {
        const logits = makeLogits(n, shape, rng);
        let max = -Infinity;
        for (const v of logits) if (v > max) max = v;
        if (!(max > -Infinity)) continue; // all banned: the sampler never bands those
        logits[n - 1] = max; // the largest tied by the last id
        for (const t of [0.25, 1, 3]) {
          const o = new CandidateOrder();
          o.reset(logits, max, t);
          expect({ n, shape, t, order: Array.from(o.prefix(n)) }).toEqual({ n, shape, t, order: Array.from(sortedIds(logits)) });
        }
      }
    }
  });
});

describe('Sampler draws (against the implementation before CandidateOrder)', () => {
  const configs: Array<Omit<SamplerSettings, 'seed' | 'repetitionPenalty'>> = [
    { temperature: 1, topK: 0, topP: 1, minP: 0 }, // OpenAI's defaults
    { temperature: 0.8, topK: 0, topP: 0.9, minP: 0 },
    { temperature: 0.7, topK: 0, topP: 0.37, minP: 0.05 },
    { temperature: 1.7, topK: 0, topP: 1, minP: 0.2 },
    { temperature: 0.3, topK: 0, topP: 0.999, minP: 0 },
    { temperature: 0.7, topK: 40, topP: 0.9, minP: 0.05 }, // the library's defaults: partial selection
    { temperature: 1, topK: 5, topP: 1, minP: 0 },
  ];

  it.each([7, 32, 257, 5000])('picks the same ids at a vocabulary of %i, every top-k regime', (n) => {
    const rng = new SeededRandom(n);
    const ks = [0, 1, 3, Math.floor(n / 4) - 1, Math.ceil(n / 4), Math.floor(n / 2), n - 1, n].filter((k) => k >= 0);
    for (const shape of ['normal', 'peaky', 'flat', 'steps', 'banned'] as Shape[]) {
      for (const base of configs)
        for (const topK of base.topK === 0 ? ks : [base.topK]) {
          const c: SamplerSettings = { ...base, topK, repetitionPenalty: 1, seed: 1000 + topK };
          const s = new Sampler(c);
          const draws = new SeededRandom(c.seed as number);
          for (let d = 0; d < 6; d++) {
            const logits = makeLogits(n, shape, rng);
            const want = oracleDraw(logits, c, draws.next());
            const got = s.sample(Float32Array.from(logits));
            expect({ n, shape, c, d, got }).toEqual({ n, shape, c, d, got: want });
          }
        }
    }
  });

  it('picks the same ids over the LLaMA-3 vocabulary size (128256) with top-k off', () => {
    const rng = new SeededRandom(128256);
    for (const base of configs.filter((c) => c.topK === 0))
      for (const shape of ['normal', 'peaky', 'banned'] as Shape[]) {
        const c: SamplerSettings = { ...base, repetitionPenalty: 1, seed: 77 };
        const s = new Sampler(c);
        const draws = new SeededRandom(77);
        for (let d = 0; d < 3; d++) {
          const logits = makeLogits(128256, shape, rng);
          const want = oracleDraw(logits, c, draws.next());
          expect({ shape, c, d, got: s.sample(Float32Array.from(logits)) }).toEqual({ shape, c, d, got: want });
        }
      }
  });

  const kernelCases = (): Array<[string, ReturnType<typeof createKernels>]> => {
    const auto = createKernels();
    return [['ts', createKernels({ mode: 'ts' })], [`${auto.name}/${auto.isa}`, auto]];
  };
  it.each(kernelCases())('picks the same ids with %s kernels as with the TypeScript ones (128256 ids, top-k off, and greedy)', (_name, kernels) => {
    const rng = new SeededRandom(9);
    for (const base of [...configs.filter((c) => c.topK === 0), { temperature: 0, topK: 0, topP: 1, minP: 0 }]) {
      const c: SamplerSettings = { ...base, repetitionPenalty: 1, seed: 5 };
      const plain = new Sampler(c);
      const withKernels = new Sampler(c, { kernels });
      for (const shape of ['normal', 'peaky', 'steps', 'banned'] as Shape[]) {
        const logits = makeLogits(128256, shape, rng);
        expect({ shape, c, got: withKernels.sample(Float32Array.from(logits)) }).toEqual({ shape, c, got: plain.sample(Float32Array.from(logits)) });
      }
    }
  });
});
