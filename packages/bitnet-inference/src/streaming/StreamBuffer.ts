/**
 * Turns the ids an engine generates, one at a time, into `StreamResponse` chunks.
 *
 * The engine calls `push(id)` for each generated id, then exactly one of `finish(reason)` /
 * `fail(error)`. Ids are decoded with the tokenizer's UTF-8-safe stream decoder (skipSpecialTokens
 * applies to the text only: special tokens' ids are always reported), the text goes through the
 * StopSequenceMatcher, and responses are delivered to `onResponse`:
 *
 * - when `bufferSize` ids are pending (pushed but not yet delivered);
 * - when `flushIntervalMs` have passed since the FIRST pending id was pushed — by a real timer
 *   (setTimeout), also when no further id arrives; the timer starts with the first pending id and is
 *   cleared by every flush, so the next pending id starts a fresh interval;
 * - at the end: one final response carrying `finishReason` (its text and ids may be empty).
 *
 * A response holds every id pending at the time and the text that is safe to emit: text still held
 * back (an unfinished UTF-8 character, a possible beginning of a stop string) comes in a later
 * response, so a response may carry ids and no text.
 *
 * It also holds `pieces`: the generated ids whose own share of the text is known by then, each with
 * that share (see TokenPieces). A piece comes in the response that carries its id, or in a later one
 * when its text was still held back: the id of a token that only begins a multi-byte character, or
 * whose text might begin a stop string, or the last id while its bytes end inside a character (an
 * unfinished character becomes U+FFFD at the end, and that U+FFFD is the last id's). Responses
 * group pieces but never split one.
 *
 * When a stop string completes, the buffer finishes by itself: the final response (finishReason
 * 'stop_sequence') carries the pending ids — including the id that completed the stop string — and
 * the text before the stop string; then `onStop` is called so the engine stops. `fail(error)` flushes
 * like finish (final response with finishReason 'error'), then passes the error (an InferenceError)
 * to `onError`.
 *
 * Once the stream has ended (finish, fail, stop sequence), `push` returns false and ignores the id,
 * and later finish/fail calls do nothing. "Accepted" ids below are those push() returned true for.
 *
 * Invariants (tested):
 *  1. concat(responses.tokenIds) == every accepted id, in order — none lost, also when its text is
 *     held back or when the stream ends by a stop string, cancellation or an error.
 *  2. no stop string matched: concat(responses.text) == tokenizer.decode(accepted ids,
 *     { skipSpecial: skipSpecialTokens }); a stop string matched: concat(text) == the part of that
 *     decoding before the stop string (the first to complete, see StopSequenceMatcher).
 *  3. no response's text ends in half a character: never a lone high surrogate at the end, and no
 *     U+FFFD produced by splitting a UTF-8 sequence across tokens (U+FFFD appears only where
 *     decode() of all the ids has it too).
 *  4. exactly one response carries finishReason, and it is the last.
 *  5. concat(responses.pieces) ids == concat(responses.tokenIds), and their texts concatenated ==
 *     concat(responses.text); a piece never comes before the response that carries its id. Each
 *     id's text is what the decoder gave for it, cut to the text before a stop string, plus the
 *     end-of-stream U+FFFD for the last id.
 */
import type { Tokenizer } from '@bitnet/models';
import type { StreamingConfig } from '../config/StreamingConfig';
import { ConfigError, InferenceError, toInferenceError } from '../errors/InferenceError';
import { logger } from '../logging/Logger';
import { StopSequenceMatcher } from './StopSequenceMatcher';
import { type PieceLogprobs, type TokenPiece, TokenPieces } from './TokenPieces';
import { describeValue } from '@bitnet/models';

/** Why a stream ended. */
export type FinishReason = 'eos' | 'end_of_turn' | 'stop_token' | 'stop_sequence' | 'max_tokens' | 'grammar_complete' | 'cancelled' | 'error';

/** Every `FinishReason`. */
export const FINISH_REASONS: readonly FinishReason[] = ['eos', 'end_of_turn', 'stop_token', 'stop_sequence', 'max_tokens', 'grammar_complete', 'cancelled', 'error'];

/** One chunk of a stream: text, the ids it came from, and which id produced which text. */
export interface StreamResponse {
  /** Text safe to show now (possibly ''). */
  text: string;
  /** The ids generated since the previous response (possibly empty in the final response). */
  tokenIds: number[];
  /**
   * The generated tokens whose share of the text became known since the previous response, in
   * order, each with that share. Over a whole stream the pieces' ids are exactly the tokenIds and
   * their texts concatenate to exactly the text; a piece may come in a later response than its id.
   */
  pieces: TokenPiece[];
  /** Set on the last response only. */
  finishReason?: FinishReason;
}

/** What StreamBuffer needs of a tokenizer. */
export type StreamTokenizer = Pick<Tokenizer, 'createStreamDecoder'>;

/** What ended a generation, when a stop token or stop string did. */
export interface StopInfo {
  /** The stop string that completed. */
  readonly sequence: string;
  /** The id whose text completed it. */
  readonly tokenId: number;
}

/** Settings of a `StreamBuffer`. */
export interface StreamBufferOptions {
  tokenizer: StreamTokenizer;
  /** bufferSize and flushIntervalMs; defaults 10 and 50 (DEFAULT_STREAMING_CONFIG). */
  streaming?: Partial<Pick<StreamingConfig, 'bufferSize' | 'flushIntervalMs'>>;
  /** Text that ends the stream; never emitted. */
  stopSequences?: readonly string[];
  /** Leave special tokens' text out (ids are still reported). Default true (as GenerationConfig). */
  skipSpecialTokens?: boolean;
  /** Receives every response, the final one (with finishReason) last. */
  onResponse: (response: StreamResponse) => void;
  /** Receives the error after the final 'error' response of fail(). */
  onError?: (error: InferenceError) => void;
  /** Called once when a stop string completed (after the final response): stop generating. */
  onStop?: (info: StopInfo) => void;
  /**
   * Ids an earlier run of this stream already produced and delivered as pieces (a resumed
   * generation): they prime the decoder and the stop-string matcher and are never reported. Their
   * text is dropped, including text the matcher still held back for them when it comes out later.
   * @throws ConfigError('resume') when they complete a stop string (that run had ended there).
   */
  resumeIds?: readonly number[];
}

const log = logger('bitnet_inference::streaming');

/** Moved to errors/; re-exported here so existing imports keep working. */
export { toInferenceError };

/** Turns generated ids into responses (text, ids, pieces): decodes, holds back partial characters and possible stop strings, groups by the buffering settings. */
export class StreamBuffer {
  readonly bufferSize: number;
  readonly flushIntervalMs: number;
  private readonly decoder: ReturnType<StreamTokenizer['createStreamDecoder']>;
  private readonly matcher: StopSequenceMatcher;
  private readonly pieces = new TokenPieces();
  private pendingIds: number[] = [];
  private pendingText = '';
  private timer: ReturnType<typeof setTimeout> | undefined;
  private ended: FinishReason | undefined;
  private accepted = 0;
  private responses = 0;
  /** Characters the matcher will still let out that belong to the resumed ids (dropped). */
  private resumedHeld = 0;

  constructor(private readonly options: StreamBufferOptions) {
    this.bufferSize = options.streaming?.bufferSize ?? 10;
    this.flushIntervalMs = options.streaming?.flushIntervalMs ?? 50;
    if (!Number.isInteger(this.bufferSize) || this.bufferSize < 1) throw new ConfigError('bufferSize', `must be an integer >= 1, got ${describeValue(this.bufferSize)}`);
    if (!Number.isFinite(this.flushIntervalMs) || this.flushIntervalMs < 1) {
      throw new ConfigError('flushIntervalMs', `must be a number >= 1, got ${describeValue(this.flushIntervalMs)}`);
    }
    this.decoder = options.tokenizer.createStreamDecoder({ skipSpecial: options.skipSpecialTokens ?? true });
    this.matcher = new StopSequenceMatcher(options.stopSequences ?? []);
    if (options.resumeIds?.length) this.prime(options.resumeIds);
  }

  /**
   * Feeds the resumed ids' text through the decoder and the matcher, discarding it, so that both are
   * in the state the earlier run left them in. The decoder keeps the bytes of a character that the
   * last resumed id began, so the next id completes it as before. The matcher, too, must see that
   * text: it only ever searches the text it still holds plus new text (never text it has let out), so
   * text the earlier run delivered cannot be part of a later match — but the resumed ids' text it
   * held back as a possible beginning of a stop string can, exactly as in the earlier run (where a
   * stop string may begin inside the last resumed ids: their pieces were then cut or ''). What it
   * held is counted in `resumedHeld` and dropped when it comes out. (With ids of pieces delivered
   * before the end, nothing is held: a piece is delivered once all of its text has been let out.)
   */
  private prime(ids: readonly number[]): void {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0) throw new ConfigError('resume', `token id must be a non-negative integer, got ${describeValue(id)}`);
      const match = this.matcher.push(this.decoder.push(id));
      if (match.stop !== undefined) throw new ConfigError('resume', `the resumed ids complete the stop string ${JSON.stringify(match.stop)}: that generation ended there`);
    }
    this.resumedHeld = this.matcher.pending.length;
  }

  /** Whether the stream has ended (push is ignored from now on). */
  get closed(): boolean {
    return this.ended !== undefined;
  }

  /** The reason the stream ended, once it has. */
  get finishReason(): FinishReason | undefined {
    return this.ended;
  }

  /** Ids accepted so far. */
  get tokenCount(): number {
    return this.accepted;
  }

  /** Ids accepted but not yet delivered in a response. */
  get pendingCount(): number {
    return this.pendingIds.length;
  }

  /**
   * Add a generated id. Returns false (and ignores the id) when the stream has already ended —
   * the engine should stop. When this id completes a stop string the stream ends here (final
   * response, then onStop) and push returns true: the id was accepted and reported.
   * Throws (accepting nothing) for a negative, fractional or out-of-vocabulary id. `logprobs`, when
   * given, travel on the id's piece unchanged.
   */
  push(id: number, logprobs?: PieceLogprobs): boolean {
    if (this.ended !== undefined) {
      log.debug('push after end ignored', { id, finishReason: this.ended });
      return false;
    }
    if (!Number.isInteger(id) || id < 0) throw new TypeError(`token id must be a non-negative integer, got ${describeValue(id)}`);
    const text = this.decoder.push(id); // throws (changing nothing) for an id outside the vocabulary
    this.accepted++;
    this.pendingIds.push(id);
    this.pieces.add(id, text, logprobs);
    if (log.enabled('trace')) log.trace('push', { id, pending: this.pendingIds.length });
    const match = this.matcher.push(text);
    this.emit(match.text);
    if (match.stop !== undefined) {
      log.debug('stop sequence matched', { sequence: match.stop, id });
      this.end('stop_sequence');
      this.options.onStop?.({ sequence: match.stop, tokenId: id });
      return true;
    }
    if (this.pendingIds.length >= this.bufferSize) this.flush('size');
    else if (this.timer === undefined) this.timer = setTimeout(() => this.onTimer(), this.flushIntervalMs);
    return true;
  }

  /**
   * End the stream: deliver everything pending (held-back text included) with `reason`. No-op once
   * ended. (Should the decoder's leftover — an unfinished character, as U+FFFD — complete a stop
   * string, the reason becomes 'stop_sequence'; onStop is not called, the engine is stopping anyway.)
   */
  finish(reason: FinishReason): void {
    if (this.ended !== undefined) return;
    this.end(reason);
  }

  /**
   * End the stream by an error: the final response (finishReason 'error') carries what was pending,
   * then onError receives the error as an InferenceError. No-op once ended.
   */
  fail(error: unknown): void {
    if (this.ended !== undefined) {
      log.debug('fail after end ignored', { error: String(error) });
      return;
    }
    const e = toInferenceError(error);
    this.end('error');
    log.debug('stream failed', { type: e.type, message: e.message });
    this.options.onError?.(e);
  }

  private onTimer(): void {
    this.timer = undefined;
    if (this.ended === undefined && this.pendingIds.length > 0) this.flush('timer');
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Text let out: it goes into the next response, and the ledger learns it is shown. */
  private emit(text: string): void {
    if (this.resumedHeld > 0) {
      // the first characters let out are the resumed ids' (delivered by the earlier run)
      const drop = Math.min(this.resumedHeld, text.length);
      this.resumedHeld -= drop;
      text = text.slice(drop);
    }
    if (text === '') return;
    this.pendingText += text;
    this.pieces.shown(text);
  }

  private flush(why: 'size' | 'timer'): void {
    this.clearTimer();
    this.deliver({ text: this.pendingText, tokenIds: this.pendingIds, pieces: this.pieces.settle(this.decoder.pending) }, why);
  }

  private end(reason: FinishReason): void {
    this.clearTimer();
    let leftover = '';
    if (reason !== 'stop_sequence') {
      // Whatever the decoder held (an unfinished UTF-8 sequence becomes U+FFFD, as in decode())
      // may still complete a stop string; otherwise the matcher's held text is plain text. That
      // U+FFFD is the last id's text.
      leftover = this.decoder.flush();
      const match = this.matcher.push(leftover);
      this.emit(match.text);
      if (match.stop !== undefined) reason = 'stop_sequence';
      else this.emit(this.matcher.flush());
    }
    this.ended = reason;
    this.deliver({ text: this.pendingText, tokenIds: this.pendingIds, pieces: this.pieces.finish(leftover), finishReason: reason }, 'end');
  }

  private deliver(response: StreamResponse, why: 'size' | 'timer' | 'end'): void {
    this.pendingIds = [];
    this.pendingText = '';
    this.responses++;
    if (log.enabled('debug')) {
      log.debug('flush', { why, ids: response.tokenIds.length, chars: response.text.length, finishReason: response.finishReason, response: this.responses });
    }
    this.options.onResponse(response);
  }
}
