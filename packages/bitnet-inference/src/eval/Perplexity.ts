/**
 * Perplexity of a text under a model, with the real forward pass (in-process, on this thread).
 *
 * Window scheme (the same one tools/train/train.py evaluates with, so the numbers are comparable):
 * the text is tokenized without BOS and its tokens are cut into consecutive, non-overlapping windows
 * of `window` tokens (default: the context length − 1; the last window may be shorter). Each window
 * is run from an empty KV cache as [BOS] + window, one token per forward step, and every token of the
 * window is scored once — the first one from BOS alone, later ones from BOS and the window's earlier
 * tokens (no context crosses a window boundary). perplexity = exp(Σ NLL / tokens), NLL from a
 * float64 log-softmax of each step's f32 logits.
 */
import { Tokenizer, createTokenizer } from '@bitnet/models';
import { pageMemory } from '@bitnet/kernels';
import { openKernels } from '../engine/kernels';
import { ForwardPass } from '../forward/ForwardPass';
import { BitnetWeights, LoadWeightsOptions, loadBitnetWeights } from '../model/BitnetWeights';
import { KvCache } from '../model/KvCache';
import { openWeightsFile } from '../model/openWeightsFile';
import { describeValue } from '@bitnet/models';

/** How a text is cut into windows for a perplexity measurement. */
export interface PerplexityOptions {
  /** Tokens per window (default: context length − 1, the most that fits after BOS). */
  window?: number;
  /** Evaluate only the first N windows. */
  maxWindows?: number;
  /** Called after each window. */
  onWindow?: (done: number, total: number) => void;
}

/** A perplexity measurement: the score and what it was computed over. */
export interface PerplexityResult {
  /** Tokens scored (the text's tokens, or those of the first maxWindows windows). */
  tokens: number;
  /** Tokens of the whole text. */
  textTokens: number;
  windows: number;
  window: number;
  /** Mean negative log-likelihood per scored token (nats). */
  nll: number;
  perplexity: number;
  seconds: number;
}

/** A loaded model ready to score texts. */
export class PerplexityEvaluator {
  private constructor(
    readonly weights: BitnetWeights,
    readonly tokenizer: Tokenizer,
    private readonly forward: ForwardPass,
  ) {}

  /**
   * Loads a model; `options` as loadBitnetWeights (e.g. outputType 'q8_0'), plus `threads`: the
   * kernel pool's size (as EngineOptions.threads; this thread runs the kernels).
   */
  static load(modelPath: string, options: Omit<LoadWeightsOptions, 'kernels'> & { threads?: number } = {}): PerplexityEvaluator {
    const { threads, ...weightOptions } = options;
    const settings = { mode: 'auto' as const, threads };
    const { kernels } = openKernels(settings);
    const file = openWeightsFile(modelPath, settings.mode);
    try {
      // the native conversions (TQ1_0 repack, Q8_0 output) when the addon is in use, into huge pages
      const weights = loadBitnetWeights(file, { kernels, memory: pageMemory(settings.mode), ...weightOptions });
      const tokenizer = createTokenizer(file.metadata);
      return new PerplexityEvaluator(weights, tokenizer, new ForwardPass(weights, kernels, { maxChunkTokens: 1 }));
    } finally {
      file.close();
    }
  }

  /** Token ids of a text as scored: no BOS, special-token text not parsed. */
  encode(text: string): number[] {
    return this.tokenizer.encode(text, { addBos: false, parseSpecial: false });
  }

  /** Tokenizes `text` and measures the model's perplexity on it. */
  evaluate(text: string, options: PerplexityOptions = {}): PerplexityResult {
    return this.evaluateIds(this.encode(text), options);
  }

  /** Measures the model's perplexity on these token ids. */
  evaluateIds(ids: readonly number[], options: PerplexityOptions = {}): PerplexityResult {
    const ctx = this.weights.config.contextLength;
    const window = options.window ?? ctx - 1;
    if (!Number.isInteger(window) || window < 1 || window + 1 > ctx) {
      throw new RangeError(`window must be between 1 and ${ctx - 1} tokens (context length ${ctx}), got ${describeValue(window)}`);
    }
    const bos = this.tokenizer.bosId;
    if (bos === undefined) throw new Error('the model has no BOS token; perplexity windows start with BOS');
    if (ids.length === 0) throw new RangeError('the text has no tokens');
    const t0 = performance.now();
    const total = Math.ceil(ids.length / window);
    const windows = Math.min(total, options.maxWindows ?? total);
    let nll = 0;
    let scored = 0;
    for (let wi = 0; wi < windows; wi++) {
      const w = ids.slice(wi * window, (wi + 1) * window);
      const cache = new KvCache(this.weights.config, w.length);
      let prev = bos;
      for (const target of w) {
        const logits = this.forward.step(cache, [prev], true)!;
        nll -= logSoftmaxAt(logits, target);
        prev = target;
      }
      scored += w.length;
      options.onWindow?.(wi + 1, windows);
    }
    const mean = nll / scored;
    return { tokens: scored, textTokens: ids.length, windows, window, nll: mean, perplexity: Math.exp(mean), seconds: (performance.now() - t0) / 1000 };
  }
}

/** log softmax(logits)[i] in float64. */
export function logSoftmaxAt(logits: Float32Array, i: number): number {
  let max = -Infinity;
  for (let j = 0; j < logits.length; j++) if (logits[j] > max) max = logits[j];
  let sum = 0;
  for (let j = 0; j < logits.length; j++) sum += Math.exp(logits[j] - max);
  return logits[i] - max - Math.log(sum);
}

/**
 * Unigram baseline: perplexity of `ids` under token frequencies `counts` (e.g. of a training text)
 * with add-one (Laplace) smoothing over the whole vocabulary: p(t) = (count[t] + 1) / (Σ count + V).
 */
export function unigramPerplexity(ids: readonly number[], counts: readonly number[]): number {
  let total = 0;
  for (const c of counts) total += c;
  const denom = total + counts.length;
  let nll = 0;
  for (const id of ids) nll -= Math.log(((counts[id] ?? 0) + 1) / denom);
  return Math.exp(nll / ids.length);
}
