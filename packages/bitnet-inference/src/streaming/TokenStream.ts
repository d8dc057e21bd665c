/**
 * The async iterable a generation returns: an unbounded queue of StreamResponses (no backpressure —
 * the producer never waits; responses queue up until the consumer reads them).
 *
 * Producer side (the engine, usually through a StreamBuffer — see createTokenStream):
 *   - `enqueue(response)`: add a response; a response with a finishReason ends the stream (except
 *     'error', after which `fail` is still expected);
 *   - `fail(error)`: the consumer first receives every response already queued, then the pending
 *     `next()` rejects with the error (an InferenceError); later `next()` calls return done.
 *
 * Consumer side:
 *   - `for await (const r of stream)` — a TokenStream can be iterated once; a second
 *     `[Symbol.asyncIterator]()` throws;
 *   - `cancel(reason?)`: calls the `onCancel` hook (which stops the engine — and, when made by
 *     createTokenStream, first flushes the StreamBuffer, so pending ids are not lost), then ends the
 *     iteration with a final response whose finishReason is 'cancelled' (the hook's final response
 *     when it produced one, else an empty one). Queued responses are still delivered before it.
 *     Returns whether the stream was cancelled (false when it had already ended or is not cancellable);
 *   - an AbortSignal (`signal` option or `attachSignal`): abort → cancel(signal.reason);
 *   - `return()` — what `break` inside `for await` calls — cancels too, and ends the iteration
 *     at once (queued responses are dropped).
 *
 * `cancellable: false` (StreamingConfig.cancellable): cancel() and abort are ignored and the stream
 * runs to its end. `return()` (break) still ends the consumer's iteration, but the engine is not
 * stopped: it keeps generating and its responses are dropped.
 */
import { InferenceError } from '../errors/InferenceError';
import { logger } from '../logging/Logger';
import type { StreamResponse } from './StreamBuffer';
import { toInferenceError } from './StreamBuffer';

/** Settings of a `TokenStream`. */
export interface TokenStreamOptions {
  /** Whether cancel()/abort may stop the stream (StreamingConfig.cancellable). Default true. */
  cancellable?: boolean;
  /** Abort → cancel(signal.reason). */
  signal?: AbortSignal;
  /** Called once, synchronously, when the stream is cancelled: stop generating. */
  onCancel?: (reason: unknown) => void;
}

type Waiter = { resolve: (r: IteratorResult<StreamResponse>) => void; reject: (e: unknown) => void };

const log = logger('bitnet_inference::streaming');

/** The consumer side of a generation: an async iterable of responses that can be cancelled. */
export class TokenStream implements AsyncIterable<StreamResponse>, AsyncIterator<StreamResponse> {
  readonly cancellable: boolean;
  private readonly queue: StreamResponse[] = [];
  private waiter: Waiter | undefined;
  /** open: accepting responses; failing: got a final 'error' response, waiting for fail(); closed: no more input. */
  private state: 'open' | 'failing' | 'closed' = 'open';
  private error: InferenceError | undefined;
  /** The consumer has finished (return(), or consumed the end). */
  private drained = false;
  private iterated = false;
  private cancelledFlag = false;
  private finish: StreamResponse['finishReason'];
  private detachSignal: (() => void) | undefined;

  constructor(private readonly options: TokenStreamOptions = {}) {
    this.cancellable = options.cancellable ?? true;
    if (options.signal !== undefined) this.attachSignal(options.signal);
  }

  /** Whether cancel() (or an abort) ended the stream. */
  get cancelled(): boolean {
    return this.cancelledFlag;
  }

  /** Whether the producer side has ended (final response or error received). */
  get ended(): boolean {
    return this.state === 'closed';
  }

  /** The finishReason of the final response, once it has been enqueued. */
  get finishReason(): StreamResponse['finishReason'] {
    return this.finish;
  }

  /** Responses queued and not yet read. */
  get queued(): number {
    return this.queue.length;
  }

  /** Cancel the stream when `signal` aborts (at once if it already has). Ignored when not cancellable. */
  attachSignal(signal: AbortSignal): void {
    if (!this.cancellable) return;
    if (signal.aborted) {
      this.cancel(signal.reason);
      return;
    }
    const onAbort = () => this.cancel(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const previous = this.detachSignal;
    this.detachSignal = () => {
      previous?.();
      signal.removeEventListener('abort', onAbort);
    };
  }

  // ---- producer side ----

  /** Add a response (ignored after the stream has ended). */
  enqueue(response: StreamResponse): void {
    if (this.state !== 'open') {
      log.debug('response after end dropped', { ids: response.tokenIds.length, finishReason: response.finishReason });
      return;
    }
    if (response.finishReason !== undefined) {
      this.finish = response.finishReason;
      if (response.finishReason === 'error') this.state = 'failing';
      else this.close();
    }
    if (this.drained) return;
    this.queue.push(response);
    this.wake();
  }

  /** End the stream with an error, delivered after the queued responses. Ignored once ended. */
  fail(error: unknown): void {
    if (this.state === 'closed') {
      log.debug('error after end dropped', { error: String(error) });
      return;
    }
    this.error = toInferenceError(error);
    this.finish ??= 'error';
    this.close();
    this.wake();
  }

  // ---- consumer side ----

  /**
   * Cancel: call onCancel (the engine stops; a StreamBuffer wired by createTokenStream flushes its
   * pending ids into a final 'cancelled' response), then end the stream with a final 'cancelled'
   * response. Returns false — doing nothing — when not cancellable or already ended.
   */
  cancel(reason?: unknown): boolean {
    if (!this.cancellable || this.state !== 'open') return false;
    this.cancelledFlag = true;
    log.debug('cancelled', { reason: reason === undefined ? undefined : String(reason) });
    try {
      this.options.onCancel?.(reason);
    } catch (e) {
      log.warn('onCancel hook threw', { error: String(e) });
    }
    if (this.state === 'open') this.enqueue({ text: '', tokenIds: [], pieces: [], finishReason: 'cancelled' });
    return true;
  }

  /** The stream itself (it can be iterated once). */
  [Symbol.asyncIterator](): AsyncIterator<StreamResponse> {
    if (this.iterated) throw new Error('a TokenStream can be iterated only once');
    this.iterated = true;
    return this;
  }

  /** The next response, waiting for it when none is queued. */
  next(): Promise<IteratorResult<StreamResponse>> {
    if (this.waiter !== undefined) return Promise.reject(new Error('TokenStream.next() called while a previous next() is pending'));
    const settled = this.take();
    if (settled !== undefined) return settled;
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Stop reading: cancels the stream (when cancellable) and ends the iteration at once. */
  return(): Promise<IteratorResult<StreamResponse>> {
    this.iterated = true;
    if (this.state === 'open') this.cancel('iteration stopped');
    this.drained = true;
    this.queue.length = 0;
    this.error = undefined;
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve({ done: true, value: undefined });
    return Promise.resolve({ done: true, value: undefined });
  }

  // ---- internals ----

  private close(): void {
    this.state = 'closed';
    this.detachSignal?.();
    this.detachSignal = undefined;
  }

  /** The result available now, or undefined when the consumer must wait. */
  private take(): Promise<IteratorResult<StreamResponse>> | undefined {
    if (this.queue.length > 0) return Promise.resolve({ done: false, value: this.queue.shift() as StreamResponse });
    if (this.drained) return Promise.resolve({ done: true, value: undefined });
    if (this.error !== undefined) {
      const e = this.error;
      this.error = undefined;
      this.drained = true;
      return Promise.reject(e);
    }
    if (this.state === 'closed') {
      this.drained = true;
      return Promise.resolve({ done: true, value: undefined });
    }
    return undefined;
  }

  private wake(): void {
    const w = this.waiter;
    if (w === undefined) return;
    const settled = this.take();
    if (settled === undefined) return;
    this.waiter = undefined;
    settled.then(w.resolve, w.reject);
  }
}
