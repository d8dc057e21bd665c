/**
 * Token logprobs in the server's three wire shapes, written from the pieces the engine delivers
 * (`TokenPiece.logprob`, `bytes`, `topLogprobs`; nothing is decoded again except a chosen token's
 * own text for the OpenAI shapes, which name every token by its standalone text).
 *
 * A logprob is ln p of the token under the log-softmax at temperature 1 of the logits it was chosen
 * from, after the repetition penalty (and the sampler's other in-place logit adjustments), before
 * temperature / top-k / top-p / min-p. A probability of exactly 0 (a masked logit) is written as
 * -9999, OpenAI's convention, since JSON has no −Infinity.
 */
import type { TokenPiece } from '@bitnet/inference';

/** Most alternatives a request may ask for (top_logprobs, completions' logprobs): the engine's limit. */
export { MAX_TOP_LOGPROBS } from '@bitnet/inference';

/** A logprob JSON can carry. */
export function wireLogprob(lp: number): number {
  return Number.isFinite(lp) ? lp : -9999;
}

/** `/v1/stream` token event fields: `logprob`, `bytes`, `top_logprobs: [{ id, token, logprob, bytes }]` (none when not asked). */
export function streamLogprobs(t: TokenPiece): Record<string, unknown> {
  if (t.logprob === undefined) return {};
  return {
    logprob: wireLogprob(t.logprob),
    bytes: t.bytes ?? [],
    top_logprobs: (t.topLogprobs ?? []).map((a) => ({ id: a.id, token: a.text, logprob: wireLogprob(a.logprob), bytes: a.bytes })),
  };
}

/** One item of chat's `logprobs.content`: `{ token, logprob, bytes, top_logprobs: [{ token, logprob, bytes }] }`. */
export interface ChatTokenLogprob {
  token: string;
  logprob: number;
  bytes: number[] | null;
  top_logprobs: Array<{ token: string; logprob: number; bytes: number[] | null }>;
}

/** Chat's item for a piece; `tokenText` gives a token's standalone text. */
export function chatLogprob(t: TokenPiece, tokenText: (id: number) => string): ChatTokenLogprob {
  return {
    token: tokenText(t.id),
    logprob: wireLogprob(t.logprob ?? -Infinity),
    bytes: t.bytes ?? null,
    top_logprobs: (t.topLogprobs ?? []).map((a) => ({ token: a.text, logprob: wireLogprob(a.logprob), bytes: a.bytes })),
  };
}

/** The completions (legacy) logprobs object. */
export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: number[];
  /** Per token: each alternative's text → its logprob (a text shared by two ids keeps the likelier). */
  top_logprobs: Array<Record<string, number>>;
  /** Per token: where its text begins in the choice's text (characters, UTF-16 as JavaScript counts). */
  text_offset: number[];
}

/**
 * The legacy shape for consecutive pieces whose text begins at character `offset` of the choice's
 * text. text_offset follows the pieces' own shares of the text (a token that only begins a character
 * sits where that character will).
 */
export function completionLogprobs(pieces: readonly TokenPiece[], offset: number, tokenText: (id: number) => string): CompletionLogprobs {
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  for (const t of pieces) {
    out.tokens.push(tokenText(t.id));
    out.token_logprobs.push(wireLogprob(t.logprob ?? -Infinity));
    const top: Record<string, number> = Object.create(null); // token texts are keys: no inherited names
    for (const a of t.topLogprobs ?? []) if (!Object.hasOwn(top, a.text)) top[a.text] = wireLogprob(a.logprob);
    out.top_logprobs.push(top);
    out.text_offset.push(offset);
    offset += t.text.length;
  }
  return out;
}
