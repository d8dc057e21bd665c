/**
 * Token log-probabilities, computed on the model thread from one step's logits.
 *
 * What a logprob is here: the natural log of the softmax of the logits at temperature 1, taken on
 * the logits the sampler chose from — after its in-place adjustments (the repetition penalty, and any
 * other logit adjustment Sampler.sample makes in place, and a grammar mask applied before it) —
 * and before temperature, top-k, top-p and min-p, which only shape the draw. So a logprob describes
 * the model's (adjusted) distribution, not the truncated one the token was drawn from.
 *
 * The work: one pass over the vocabulary for the largest logit and a small sorted window of the N
 * largest (N ≤ 20), so the vocabulary is never sorted; then the normaliser Σ exp(x − max), the kernels'
 * sumExp (native SIMD on the model thread; the TypeScript kernel otherwise, the same bits). For 128256
 * ids the whole call takes ~0.5 ms with the native sumExp, where the running sum with Math.exp took ~2.4. Non-finite logits (−Infinity, NaN) count
 * as probability 0.
 */
import { type Kernels, sumExp } from '@bitnet/kernels';
import { ConfigError } from '../errors/InferenceError';
import { describeValue } from '@bitnet/models';

/** Most alternatives one token carries (OpenAI's limit for top_logprobs). */
export const MAX_TOP_LOGPROBS = 20;

/** The logprob of the chosen token and the `top` most likely tokens with theirs. */
export interface TokenLogprobs {
  /** ln p(chosen). */
  logprob: number;
  /** The most likely ids, most likely first (ties: lower id first). */
  topIds: number[];
  /** Their logprobs, in the same order (non-increasing). */
  topLogprobs: number[];
}

/**
 * Log-softmax of `logits` for `chosen` and the `top` most likely ids (0..MAX_TOP_LOGPROBS).
 * `logits` is only read. `kernels`: whose sumExp to use (the engine passes the model thread's).
 */
export function tokenLogprobs(logits: Float32Array, chosen: number, top: number, kernels?: Pick<Kernels, 'sumExp'>): TokenLogprobs {
  const n = logits.length;
  const k = Math.max(0, Math.min(top | 0, MAX_TOP_LOGPROBS, n));
  // the window of the k largest logits seen so far, largest first
  const ids = new Int32Array(k);
  const vals = new Float64Array(k).fill(-Infinity);
  let filled = 0;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = logits[i];
    if (!(x > -Infinity)) continue; // −Infinity and NaN: probability 0
    if (x > max) max = x;
    if (k > 0 && (filled < k || x > vals[k - 1])) {
      // strictly greater than the smallest kept: an earlier (lower) id wins a tie
      let j = filled < k ? filled++ : k - 1;
      while (j > 0 && x > vals[j - 1]) {
        vals[j] = vals[j - 1];
        ids[j] = ids[j - 1];
        j--;
      }
      vals[j] = x;
      ids[j] = i;
    }
  }
  // nothing finite: lse −∞ (every logprob −∞); a +∞ logit: lse +∞, as the running sum gave it
  const lse = max > -Infinity && max < Infinity ? max + Math.log(kernels ? kernels.sumExp(logits, max) : sumExp(logits, max)) : max;
  const topIds: number[] = [];
  const topLogprobs: number[] = [];
  for (let j = 0; j < filled; j++) {
    topIds.push(ids[j]);
    topLogprobs.push(vals[j] - lse);
  }
  const x = chosen >= 0 && chosen < n ? logits[chosen] : NaN;
  return { logprob: x > -Infinity ? x - lse : -Infinity, topIds, topLogprobs };
}

/** One likely token at a step: its id, its text, its logprob and its raw bytes. */
export interface TokenAlternative {
  id: number;
  /** The token decoded alone (U+FFFD where its bytes are only part of a UTF-8 character; special tokens: their text). */
  text: string;
  logprob: number;
  /** The raw bytes the token stands for (UTF-8, possibly part of a character). */
  bytes: number[];
}

/** What a piece carries when logprobs were asked for (see TokenPiece). */
export interface PieceLogprobs {
  logprob: number;
  /** The chosen token's raw bytes. */
  bytes: number[];
  /** The most likely tokens at this step, most likely first ([] when 0 were asked for). */
  topLogprobs: TokenAlternative[];
}

/** What PieceLogprobs needs of a tokenizer. */
export interface LogprobsTokenizer {
  decode(ids: readonly number[]): string;
  tokenBytes(id: number): Uint8Array;
}

/** Turns the model thread's numbers into what a piece carries: each id's text and bytes added (main thread). */
export function pieceLogprobs(tokenizer: LogprobsTokenizer, id: number, lp: TokenLogprobs): PieceLogprobs {
  return {
    logprob: lp.logprob,
    bytes: Array.from(tokenizer.tokenBytes(id)),
    topLogprobs: lp.topIds.map((alt, i) => ({ id: alt, text: tokenizer.decode([alt]), logprob: lp.topLogprobs[i], bytes: Array.from(tokenizer.tokenBytes(alt)) })),
  };
}

/**
 * Checks a requested number of alternatives (GenerateOptions.logprobs): undefined, or an integer
 * from 0 to MAX_TOP_LOGPROBS.
 * @throws ConfigError('logprobs') otherwise.
 */
export function checkLogprobs(n: unknown): asserts n is number | undefined {
  if (n === undefined) return;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_TOP_LOGPROBS) {
    throw new ConfigError('logprobs', `must be an integer from 0 to ${MAX_TOP_LOGPROBS} (how many alternatives per token), got ${describeValue(n)}`);
  }
}
