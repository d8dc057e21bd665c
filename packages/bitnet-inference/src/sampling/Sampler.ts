import { SeededRandom } from '@bitnet/models';
import type { GenerationConfig } from '../config/GenerationConfig';

/** How many recent tokens the repetition penalty looks at. */
const PENALTY_WINDOW = 64;

/**
 * Picks the next token from logits: repetition penalty, then greedy (temperature 0) or
 * top-k → temperature softmax → top-p → min-p → a draw from a seeded generator. Each sequence owns
 * one Sampler, so its draws never depend on other sequences.
 */
export class Sampler {
  private readonly rng: SeededRandom;
  private readonly recent: number[] = [];
  private order = new Int32Array(0);
  private probs = new Float64Array(0);

  constructor(private readonly config: Pick<GenerationConfig, 'temperature' | 'topK' | 'topP' | 'minP' | 'repetitionPenalty' | 'seed'>) {
    this.rng = new SeededRandom(config.seed);
  }

  /** Tokens (prompt, then each accepted token) the repetition penalty considers. */
  observe(ids: Iterable<number>): void {
    for (const id of ids) {
      this.recent.push(id);
      if (this.recent.length > PENALTY_WINDOW) this.recent.shift();
    }
  }

  /**
   * Brings this sampler to the state it would be in had it chosen `ids` itself with sample(): the
   * same random draws consumed (exactly one per token when temperature > 0, none when greedy) and
   * each id observed by the repetition penalty, in order. Used to resume a generation.
   */
  replay(ids: Iterable<number>): void {
    for (const id of ids) {
      // draw() takes exactly one rng.next() per token, whatever the logits
      if (this.config.temperature !== 0) this.rng.next();
      this.observe([id]);
    }
  }

  /** Chooses a token; `logits` is modified in place by the penalty. */
  sample(logits: Float32Array): number {
    const c = this.config;
    if (c.repetitionPenalty !== 1) {
      for (const id of new Set(this.recent)) {
        if (id < 0 || id >= logits.length) continue;
        const l = logits[id];
        logits[id] = l > 0 ? l / c.repetitionPenalty : l * c.repetitionPenalty;
      }
    }
    const token = c.temperature === 0 ? argmax(logits) : this.draw(logits);
    this.observe([token]);
    return token;
  }

  private draw(logits: Float32Array): number {
    const c = this.config;
    const n = logits.length;
    const k = c.topK > 0 ? Math.min(c.topK, n) : n;
    if (this.order.length < n) {
      this.order = new Int32Array(n);
      this.probs = new Float64Array(n);
    }
    // candidates sorted by logit (descending, lower id first on ties), cut to top-k
    const ids = topIndices(logits, k, this.order);
    let max = -Infinity;
    for (let i = 0; i < k; i++) max = Math.max(max, logits[ids[i]]);
    let sum = 0;
    for (let i = 0; i < k; i++) {
      const p = Math.exp((logits[ids[i]] - max) / c.temperature);
      this.probs[i] = p;
      sum += p;
    }
    let keep = k;
    if (c.topP < 1) {
      let acc = 0;
      for (let i = 0; i < k; i++) {
        acc += this.probs[i] / sum;
        if (acc >= c.topP) {
          keep = i + 1;
          break;
        }
      }
    }
    if (c.minP > 0) {
      const floor = (this.probs[0] / sum) * c.minP;
      let m = 1;
      while (m < keep && this.probs[m] / sum >= floor) m++;
      keep = m;
    }
    let total = 0;
    for (let i = 0; i < keep; i++) total += this.probs[i];
    let r = this.rng.next() * total;
    for (let i = 0; i < keep; i++) {
      r -= this.probs[i];
      if (r < 0) return ids[i];
    }
    return ids[keep - 1];
  }
}

/** The index of the largest value (the first one on ties). */
export function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

/** The k indices of the largest values, largest first (ties: lower index first). */
function topIndices(values: Float32Array, k: number, scratch: Int32Array): Int32Array {
  const n = values.length;
  const idx = scratch.subarray(0, n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const cmp = (a: number, b: number) => values[b] - values[a] || a - b;
  if (k >= n / 4) {
    idx.sort(cmp);
    return idx;
  }
  // partial selection: keep a sorted window of the best k seen so far
  const best = idx.subarray(0, k);
  for (let i = 0; i < k; i++) best[i] = i;
  best.sort(cmp);
  for (let i = k; i < n; i++) {
    if (cmp(i, best[k - 1]) >= 0) continue;
    let j = k - 1;
    while (j > 0 && cmp(i, best[j - 1]) < 0) {
      best[j] = best[j - 1];
      j--;
    }
    best[j] = i;
  }
  return best;
}
