import { type Kernels, argmax } from '@bitnet/kernels';
import { SeededRandom } from '@bitnet/models';
import type { GenerationConfig } from '../config/GenerationConfig';
import { BANDS, CandidateOrder } from './CandidateOrder';

/** How many recent tokens the repetition penalty looks at. */
const PENALTY_WINDOW = 64;

/** What a Sampler needs: the sampling fields of a GenerationConfig (penalties and bias optional, off when absent). */
export type SamplerSettings = Pick<GenerationConfig, 'temperature' | 'topK' | 'topP' | 'minP' | 'repetitionPenalty' | 'seed'> &
  Partial<Pick<GenerationConfig, 'presencePenalty' | 'frequencyPenalty' | 'logitBias'>>;

/** What a Sampler may be given besides its settings. */
export interface SamplerOptions {
  /**
   * Kernels for the greedy choice (argmax) and for the pass over the whole vocabulary that a draw with
   * top-k off makes (weighLogits): the engine passes its own (native: argmax ~0.02 ms for 128256 ids
   * instead of ~0.15, weighLogits ~0.5 ms instead of ~3). Without them the TypeScript kernels run;
   * both give the same results, so the same picks.
   */
  kernels?: Pick<Kernels, 'weighLogits' | 'argmax'>;
}

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
  private readonly candidates: CandidateOrder;
  private readonly argmax: (logits: Float32Array) => number;

  constructor(
    private readonly config: SamplerSettings,
    options: SamplerOptions = {},
  ) {
    const k = options.kernels;
    this.candidates = new CandidateOrder(k ? (...args) => k.weighLogits(...args) : undefined);
    this.argmax = k ? (logits) => k.argmax(logits) : argmax;
    this.rng = new SeededRandom(config.seed);
    this.presence = config.presencePenalty ?? 0;
    this.frequency = config.frequencyPenalty ?? 0;
    const bias = Object.entries(config.logitBias ?? {});
    this.biasIds = Int32Array.from(bias, ([id]) => Number(id));
    this.biasValues = Float32Array.from(bias, ([, v]) => v);
    this.forced = this.biasValues.some((v) => v >= 100);
  }

  /** Whether sample() is the argmax of the logits as given: greedy, and no penalty or bias adjusts them. */
  get argmaxOnly(): boolean {
    const c = this.config;
    return c.temperature === 0 && c.repetitionPenalty === 1 && this.presence === 0 && this.frequency === 0 && this.biasIds.length === 0;
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
    const token = this.config.temperature === 0 ? this.argmax(logits) : this.draw(logits);
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
    if (k < n / 4) return this.drawFrom(logits, topIndices(logits, k, this.order), k);
    let max = -Infinity;
    for (let i = 0; i < n; i++) if (logits[i] > max) max = logits[i];
    // every logit −∞ (all banned), or some +∞: the weights are not numbers; the first candidate, as the sorted walk gives it
    if (!(max > -Infinity && max < Infinity)) {
      this.rng.next();
      return this.argmax(logits);
    }
    this.candidates.reset(logits, max, c.temperature);
    if (k < n) return this.drawFrom(logits, this.candidates.prefix(k), k);
    return this.drawAll(logits);
  }

  /** The draw over candidates `ids` (k of them, in walk order): softmax at the temperature, top-p, min-p, then one draw. */
  private drawFrom(logits: Float32Array, ids: Int32Array, k: number): number {
    const c = this.config;
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

  /**
   * drawFrom over the whole vocabulary (top-k off) without sorting it (see CandidateOrder): whole bands
   * are stepped over by their total weights, and only the band where top-p cuts and the band the draw
   * lands in are sorted. The same distribution as drawFrom; its sums add the same weights in another
   * order, so a draw can differ from drawFrom's only where a cut or u·total falls within a rounding
   * error of a boundary.
   */
  private drawAll(logits: Float32Array): number {
    const c = this.config;
    const o = this.candidates;
    const w = o.weights;
    const n = o.start[BANDS];
    const sum = o.sum;
    // top-p: the shortest prefix in walk order whose share reaches topP
    let keep = n;
    if (c.topP < 1) {
      let acc = 0;
      find: for (let b = 0; b < BANDS; b++) {
        const share = o.bandWeight[b] / sum;
        if (acc + share < c.topP) {
          acc += share;
          continue;
        }
        o.sortBand(b);
        for (let j = o.start[b]; j < o.start[b + 1]; j++) {
          acc += w[o.ids[j]] / sum;
          if (acc >= c.topP) {
            keep = j + 1;
            break find;
          }
        }
      }
    }
    // min-p: weights fall along the walk, so the ids at least minP times the largest (weight exp(0) = 1) are a prefix
    if (c.minP > 0) {
      const floor = (1 / sum) * c.minP;
      let m = 0;
      for (let i = 0; i < n; i++) if (w[i] / sum >= floor) m++;
      keep = Math.min(keep, Math.max(1, m));
    }
    // the kept prefix: whole bands, then the first ids of the band `keep` ends in
    let total = 0;
    let last = 0; // the band holding position keep − 1
    while (o.start[last + 1] < keep) total += o.bandWeight[last++];
    o.sortBand(last);
    for (let j = o.start[last]; j < keep; j++) total += w[o.ids[j]];
    // no weight to draw by (a NaN logit): the first id of the walk, as in draw()
    if (!(total > 0)) {
      this.rng.next();
      return this.argmax(logits);
    }
    let r = this.rng.next() * total;
    for (let b = 0; b < last; b++) {
      if (r < o.bandWeight[b]) {
        o.sortBand(b);
        for (let j = o.start[b]; j < o.start[b + 1]; j++) {
          r -= w[o.ids[j]];
          if (r < 0) return o.ids[j];
        }
        return o.ids[o.start[b + 1] - 1];
      }
      r -= o.bandWeight[b];
    }
    for (let j = o.start[last]; j < keep; j++) {
      r -= w[o.ids[j]];
      if (r < 0) return o.ids[j];
    }
    return o.ids[keep - 1];
  }
}

/** The index of the largest value (the first one on ties): @bitnet/kernels' TypeScript argmax. */
export { argmax };

/** The k indices of the largest values, largest first (ties: lower index first); k < n / 4. */
function topIndices(values: Float32Array, k: number, scratch: Int32Array): Int32Array {
  const n = values.length;
  const cmp = (a: number, b: number) => values[b] - values[a] || a - b;
  // partial selection: keep a sorted window of the best k seen so far
  const best = scratch.subarray(0, k);
  for (let i = 0; i < k; i++) best[i] = i;
  best.sort(cmp);
  // Every id in the window is below i, so cmp(i, b) < 0 exactly when values[b] − values[i] < 0, that
  // is when values[i] > values[b] (a tie, NaN or a difference of infinities goes to the lower id: b).
  let floor = values[best[k - 1]];
  for (let i = k; i < n; i++) {
    const v = values[i];
    if (!(v > floor)) continue;
    let j = k - 1;
    while (j > 0 && v > values[best[j - 1]]) {
      best[j] = best[j - 1];
      j--;
    }
    best[j] = i;
    floor = values[best[k - 1]];
  }
  return best;
}
