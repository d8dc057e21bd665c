import { SeededRandom } from '@bitnet/models';
import type { GenerationConfig } from '../config/GenerationConfig';

/** How many recent tokens the repetition penalty looks at. */
const PENALTY_WINDOW = 64;

/** What a Sampler needs: the sampling fields of a GenerationConfig (penalties and bias optional, off when absent). */
export type SamplerSettings = Pick<GenerationConfig, 'temperature' | 'topK' | 'topP' | 'minP' | 'repetitionPenalty' | 'seed'> &
  Partial<Pick<GenerationConfig, 'presencePenalty' | 'frequencyPenalty' | 'logitBias'>>;

/**
 * Picks the next token from logits. First the logits are adjusted in place: the repetition penalty
 * (tokens among the last 64 of prompt and output), OpenAI's presence and frequency penalties (tokens
 * this sequence has produced, counted by sample() and replay(); the prompt does not count), then the
 * logit bias (-100 bans a token, +100 bans every token without +100). Then greedy (temperature 0)
 * or top-k → temperature softmax → top-p → min-p → a draw from a seeded generator. Each sequence owns
 * one Sampler, so its draws never depend on other sequences.
 */
export class Sampler {
  private readonly rng: SeededRandom;
  private readonly recent: number[] = [];
  /** How many times this sequence produced each id (presence and frequency penalties). */
  private readonly produced = new Map<number, number>();
  private readonly presence: number;
  private readonly frequency: number;
  private readonly biasIds: Int32Array;
  private readonly biasValues: Float32Array;
  /** Whether some bias is +100: every other token is then banned. */
  private readonly forced: boolean;
  private order = new Int32Array(0);
  private probs = new Float64Array(0);

  constructor(private readonly config: SamplerSettings) {
    this.rng = new SeededRandom(config.seed);
    this.presence = config.presencePenalty ?? 0;
    this.frequency = config.frequencyPenalty ?? 0;
    const bias = Object.entries(config.logitBias ?? {});
    this.biasIds = Int32Array.from(bias, ([id]) => Number(id));
    this.biasValues = Float32Array.from(bias, ([, v]) => v);
    this.forced = this.biasValues.some((v) => v >= 100);
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
      this.accept(id);
    }
  }

  /**
   * Chooses a token. `logits` is left adjusted in place (penalties and bias applied), so a caller
   * can read the distribution the choice was made from.
   */
  sample(logits: Float32Array): number {
    this.adjust(logits);
    const token = this.config.temperature === 0 ? argmax(logits) : this.draw(logits);
    this.accept(token);
    return token;
  }

  /** A token this sequence produced: seen by the repetition window and counted for the OpenAI penalties. */
  private accept(id: number): void {
    this.observe([id]);
    this.produced.set(id, (this.produced.get(id) ?? 0) + 1);
  }

  /** Repetition penalty, presence/frequency penalties, then the logit bias, in place. */
  private adjust(logits: Float32Array): void {
    const c = this.config;
    const n = logits.length;
    if (c.repetitionPenalty !== 1) {
      for (const id of new Set(this.recent)) {
        if (id < 0 || id >= n) continue;
        const l = logits[id];
        logits[id] = l > 0 ? l / c.repetitionPenalty : l * c.repetitionPenalty;
      }
    }
    if (this.presence !== 0 || this.frequency !== 0) {
      for (const [id, count] of this.produced) if (id >= 0 && id < n) logits[id] -= this.presence + this.frequency * count;
    }
    if (this.biasIds.length === 0) return;
    if (this.forced) {
      // +100 means "only these": every other token is banned — among the tokens still possible: when a
      // grammar mask has already banned every one of them, the biases stay plain additions below (a
      // masked token stays masked) rather than banning everything
      const keep = new Map<number, number>();
      for (let i = 0; i < this.biasIds.length; i++) {
        const id = this.biasIds[i];
        if (this.biasValues[i] >= 100 && id < n && logits[id] > -Infinity) keep.set(id, logits[id]);
      }
      if (keep.size > 0) {
        logits.fill(-Infinity);
        for (const [id, l] of keep) logits[id] = l + 100;
        return;
      }
    }
    for (let i = 0; i < this.biasIds.length; i++) {
      const id = this.biasIds[i];
      if (id >= n) continue;
      logits[id] = this.biasValues[i] <= -100 ? -Infinity : logits[id] + this.biasValues[i];
    }
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
    // every candidate banned (all -Infinity): nothing to weigh, take the first
    if (!(total > 0)) {
      this.rng.next();
      return ids[0];
    }
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
