/**
 * Which part of a stream's text belongs to which generated id.
 *
 * The StreamBuffer hands this ledger two things in stream order: each id with the text its own
 * decoder produced for it (`add`), and the text it let out in responses (`shown`: the stop-string
 * matcher's output, always a prefix of the decoded text). An id's piece is settled — and handed
 * out, in id order — once all of its decoded text has been let out, unless it is the last id and
 * the decoder still holds bytes of an unfinished character: if the stream ended there, that
 * character's U+FFFD would be added to the last id's text.
 *
 * At the end (`finish`) every id still held is settled: the decoder's leftover (that U+FFFD) goes
 * to the last id, and each held id takes, in order, as much of its text as was let out — all of it,
 * or, when a stop string cut the text, its share of the text before the stop string (possibly '').
 *
 * Because the text let out is a prefix of the decoded text, nothing is ever left over: the pieces'
 * texts concatenate to exactly the text let out, and their ids are every id added, in order.
 */

import type { PieceLogprobs, TokenAlternative } from '../sampling/Logprobs';

export type { PieceLogprobs, TokenAlternative };

/** One generated token and its own share of the stream's text. */
export interface TokenPiece {
  /** The token id. */
  id: number;
  /**
   * The part of the text this token produced ('' for a token whose bytes only begin a multi-byte
   * character — the character belongs to the token that completes it —, for a skipped special token,
   * or for one whose text fell inside or after a stop string).
   */
  text: string;
  /**
   * Only when logprobs were asked for (GenerateOptions.logprobs): ln p(id) — the log-softmax at
   * temperature 1 of the logits the token was chosen from, after the sampler's in-place adjustments
   * (repetition penalty, ...) and before temperature / top-k / top-p / min-p (sampling/Logprobs.ts).
   */
  logprob?: number;
  /** With logprob: the token's raw bytes (the text of a token may be '' or hold a split character). */
  bytes?: number[];
  /** With logprob: the most likely tokens at this step (as many as asked, up to 20), most likely first. */
  topLogprobs?: TokenAlternative[];
}

export class TokenPieces {
  /** Ids not settled yet, each with its decoded text (oldest first). */
  private held: TokenPiece[] = [];
  /** Text let out that belongs to the held ids (their decoded text, from the front). */
  private shownText = '';

  /** Ids not settled yet. */
  get heldCount(): number {
    return this.held.length;
  }

  /** A new id and the text the decoder returned for it (and its logprobs, when asked for). */
  add(id: number, decoded: string, logprobs?: PieceLogprobs): void {
    this.held.push(logprobs ? { id, text: decoded, ...logprobs } : { id, text: decoded });
  }

  /** Text the buffer let out (in order, after the text of earlier calls). */
  shown(text: string): void {
    this.shownText += text;
  }

  /**
   * The pieces settled now, oldest first. `lastOpen`: the decoder holds bytes of an unfinished
   * character, so the last id may still receive its U+FFFD.
   */
  settle(lastOpen: boolean): TokenPiece[] {
    const limit = this.held.length - (lastOpen ? 1 : 0);
    let count = 0;
    let used = 0;
    while (count < limit && this.held[count].text.length <= this.shownText.length - used) {
      used += this.held[count].text.length;
      count++;
    }
    if (count === 0) return [];
    this.shownText = this.shownText.slice(used);
    return this.held.splice(0, count);
  }

  /** The stream ended: settle every held id; `leftover` is what the decoder still held (U+FFFD or ''). */
  finish(leftover: string): TokenPiece[] {
    const out = this.held;
    if (leftover !== '' && out.length > 0) out[out.length - 1].text += leftover;
    let rest = this.shownText;
    for (const piece of out) {
      const share = rest.slice(0, Math.min(piece.text.length, rest.length));
      rest = rest.slice(share.length);
      piece.text = share;
    }
    this.held = [];
    this.shownText = '';
    return out;
  }
}
