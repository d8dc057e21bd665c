/**
 * The client: `BitnetClient` (settings, the JSON calls) and `BitnetStream` (one POST /v1/stream
 * read as an async iterable of pieces, resumed with Last-Event-ID when the connection drops).
 * Only what browsers and Node 20 both have: fetch, ReadableStream, TextDecoder, AbortSignal.
 */
import { BitnetConnectionError, BitnetError, BitnetHttpError, BitnetStreamError } from './errors';
import { SseParser } from './sse';
import type { CompleteEvent, ErrorEvent, HealthResponse, ModelList, StreamRequest, TokenEvent } from './types';

/** How a dropped stream is retried. */
export interface RetryOptions {
  /** Failed attempts in a row after which the stream gives up with a BitnetConnectionError (default 5). */
  maxRetries?: number;
  /** Wait before the first retry; it doubles with each failure in a row (default 250 ms). */
  initialDelayMs?: number;
  /** Longest wait between retries, Retry-After aside (default 4000 ms). */
  maxDelayMs?: number;
}

/** The settings of a {@link BitnetClient}. */
export interface BitnetClientOptions {
  /** The server's URL, e.g. `http://127.0.0.1:8080` (a path prefix is kept). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>` when the server runs with `--api-key`. */
  apiKey?: string;
  /** The fetch to use (default: the global one). */
  fetch?: typeof globalThis.fetch;
  /** Reconnect settings of streams. */
  retry?: RetryOptions;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
}

/** One generated token, as the stream's iterator yields it. */
export interface StreamPiece {
  /** The token id. */
  id: number;
  /** The token's own share of the text (the pieces' texts concatenate to the generated text). */
  text: string;
  /** The token's place in the sequence (prompt tokens count from 0). */
  position: number;
  /** The token's place among the generated tokens, from 0. */
  index: number;
  /** The SSE event id that carried it, `<stream>:<n>`. */
  eventId: string;
}

/** What {@link StreamOptions.onReconnect} is told before each retry. */
export interface ReconnectInfo {
  /** Failures in a row so far (1 for the first retry after an event arrived). */
  attempt: number;
  /** The Last-Event-ID the retry sends (undefined: the request is sent again, nothing had arrived). */
  lastEventId: string | undefined;
  /** How long the client waits before the retry. */
  delayMs: number;
  /** What failed: a network error, an early end of the body, or a 429/5xx {@link BitnetHttpError}. */
  cause: unknown;
}

/** Per-stream options of {@link BitnetClient.stream}. */
export interface StreamOptions {
  /** Aborting it ends the iteration at once (the fetch is aborted, no retry follows); see {@link BitnetStream}. */
  signal?: AbortSignal;
  /** Called before each reconnect attempt. */
  onReconnect?: (info: ReconnectInfo) => void;
}

/** Opens one connection of a stream: the first POST (no `lastEventId`) or a resume. */
export type StreamOpener = (at: { lastEventId: string | undefined; signal: AbortSignal }) => Promise<Response>;

/** The defaults of {@link RetryOptions}. */
export const DEFAULT_RETRY: Readonly<Required<RetryOptions>> = Object.freeze({ maxRetries: 5, initialDelayMs: 250, maxDelayMs: 4000 });

/** Statuses worth retrying: rate limited, or the server (or a proxy) momentarily unavailable. */
const RETRYABLE = new Set([429, 502, 503, 504]);

/**
 * A client of one bitnet-server.
 *
 * ```ts
 * const client = new BitnetClient({ baseUrl: 'http://127.0.0.1:8080' });
 * const stream = client.stream({ prompt: 'In the beginning', max_tokens: 32 });
 * let text = '';
 * for await (const piece of stream) text += piece.text;
 * console.log(stream.complete?.finish_reason, stream.reconnects);
 * ```
 */
export class BitnetClient {
  /** The server's URL without a trailing slash. */
  readonly baseUrl: string;
  /** The retry settings, defaults filled in. */
  readonly retry: Readonly<Required<RetryOptions>>;
  private readonly fetchImpl: typeof globalThis.fetch;
  private readonly headers: Record<string, string>;

  /** @param options - the server's URL, API key, fetch, retry settings and extra headers */
  constructor(options: BitnetClientOptions) {
    if (!options || typeof options.baseUrl !== 'string' || options.baseUrl === '') throw new TypeError('BitnetClient: baseUrl is required');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.retry = { ...DEFAULT_RETRY, ...definedOnly(options.retry ?? {}) };
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== 'function') throw new TypeError('BitnetClient: no fetch (Node 20 or a browser has one; or pass options.fetch)');
    // called as a plain function: a browser's fetch must not be called as a method of another object
    this.fetchImpl = (input, init) => f(input, init);
    this.headers = { ...(options.headers ?? {}) };
    if (options.apiKey) this.headers.Authorization = `Bearer ${options.apiKey}`;
  }

  /**
   * Starts nothing yet: returns a {@link BitnetStream} that POSTs `/v1/stream` when iterated.
   * @param request - the request body (snake_case, as the server takes it)
   * @param options - an AbortSignal and a reconnect callback
   */
  stream(request: StreamRequest, options: StreamOptions = {}): BitnetStream {
    const open: StreamOpener = ({ lastEventId, signal }) =>
      lastEventId === undefined
        ? this.fetchImpl(this.url('/v1/stream'), {
            method: 'POST',
            headers: { ...this.headers, Accept: 'text/event-stream', 'Content-Type': 'application/json' },
            body: JSON.stringify(request),
            signal,
          })
        : // a resume: no body, so no Content-Type; the server replays the events after lastEventId
          this.fetchImpl(this.url('/v1/stream'), { method: 'POST', headers: { ...this.headers, Accept: 'text/event-stream', 'Last-Event-ID': lastEventId }, signal });
    return new BitnetStream(open, this.retry, options);
  }

  /** `GET /health`: the server's state and model (also answered with 503 while it shuts down). */
  health(options: { signal?: AbortSignal } = {}): Promise<HealthResponse> {
    return this.getJson<HealthResponse>('/health', options.signal, [503]);
  }

  /** `GET /v1/models`: the model served, in OpenAI's list shape. */
  models(options: { signal?: AbortSignal } = {}): Promise<ModelList> {
    return this.getJson<ModelList>('/v1/models', options.signal);
  }

  private url(path: string): string {
    return this.baseUrl + path;
  }

  private async getJson<T>(path: string, signal: AbortSignal | undefined, alsoOk: number[] = []): Promise<T> {
    const res = await this.fetchImpl(this.url(path), { headers: { ...this.headers, Accept: 'application/json' }, signal });
    if (!res.ok && !alsoOk.includes(res.status)) throw await httpError(res);
    return (await res.json()) as T;
  }
}

/**
 * One `POST /v1/stream`, read as an `AsyncIterable<StreamPiece>` (iterate it once). A connection
 * that drops before the `complete` or `error` event (a network error, or a body that ends without
 * one) is resumed with `Last-Event-ID: <last event id received>` (a POST without a body), waiting
 * `initialDelayMs · 2^(n-1)` (at most `maxDelayMs`) before the n-th retry in a row, or what a 429/503's
 * `Retry-After` says; the count of failures in a row restarts at every event received. Events already
 * seen are skipped, so no piece comes twice.
 *
 * The iteration ends normally after the `complete` event ({@link BitnetStream.complete} holds it) and
 * rejects with {@link BitnetStreamError} (the `error` event), {@link BitnetHttpError} (an error status
 * that retrying cannot fix, e.g. 422, or 410 on a resume: the server no longer keeps the stream) or
 * {@link BitnetConnectionError} (retries exhausted). Aborting the signal rejects with the signal's
 * `reason` as it is — by default a `DOMException` named `AbortError`, as fetch itself does — and no
 * request follows. Leaving the loop early (`break`) aborts the connection too.
 */
export class BitnetStream implements AsyncIterable<StreamPiece> {
  /** The `complete` event's data, once the iteration has ended with it. */
  complete: CompleteEvent | undefined;
  /** The stream's id (the `X-Stream-Id` header), once the server has answered. */
  streamId: string | undefined;
  /** The id of the last event received (or `<stream>:0` before the first): what a resume sends. */
  lastEventId: string | undefined;
  /** Reconnect requests made so far. */
  reconnects = 0;
  private started = false;

  /**
   * Made by {@link BitnetClient.stream}.
   * @param open - opens one connection (the first POST, or a resume)
   * @param retry - the retry settings
   * @param options - the signal and the reconnect callback
   */
  constructor(
    private readonly open: StreamOpener,
    private readonly retry: Readonly<Required<RetryOptions>>,
    private readonly options: StreamOptions = {},
  ) {}

  /** Starts the request; a stream can be iterated once. */
  [Symbol.asyncIterator](): AsyncIterator<StreamPiece> {
    if (this.started) throw new BitnetError('a BitnetStream can be iterated only once');
    this.started = true;
    return this.run();
  }

  /** Reads the whole stream: every piece, their text, and the `complete` event. */
  async collect(): Promise<{ pieces: StreamPiece[]; text: string; complete: CompleteEvent }> {
    const pieces: StreamPiece[] = [];
    for await (const p of this) pieces.push(p);
    return { pieces, text: pieces.map((p) => p.text).join(''), complete: this.complete! };
  }

  private async *run(): AsyncGenerator<StreamPiece, void, undefined> {
    const user = this.options.signal;
    if (user?.aborted) throw user.reason;
    // aborted by the caller's signal, or by us when the iteration ends early
    const local = new AbortController();
    const onAbort = () => local.abort(user!.reason);
    user?.addEventListener('abort', onAbort, { once: true });
    const { maxRetries, initialDelayMs, maxDelayMs } = this.retry;
    let failures = 0;
    let attempts = 0;
    let lastSeq = 0;
    let index = 0;
    try {
      for (;;) {
        attempts++;
        if (attempts > 1) this.reconnects++;
        let cause: unknown;
        let retryAfterMs: number | undefined;
        try {
          const res = await this.open({ lastEventId: this.lastEventId, signal: local.signal });
          if (!res.ok) throw await httpError(res);
          const type = res.headers.get('content-type') ?? '';
          if (!type.startsWith('text/event-stream')) {
            throw new BitnetHttpError(res.status, { error: { type: 'unexpected_response', message: `expected text/event-stream, got ${type || 'no content type'}` } });
          }
          const sid = res.headers.get('x-stream-id');
          if (sid && this.streamId === undefined) this.streamId = sid;
          // a connection that breaks before the first event resumes from event 0
          if (this.lastEventId === undefined && this.streamId !== undefined) this.lastEventId = `${this.streamId}:0`;
          if (!res.body) throw new Error('the response has no body');
          const reader = res.body.getReader();
          const parser = new SseParser();
          try {
            for (;;) {
              const { done, value } = await reader.read();
              if (done) break;
              for (const e of parser.push(value)) {
                if (e.id !== undefined) {
                  const seq = sequenceOf(e.id);
                  if (seq !== undefined) {
                    if (seq <= lastSeq) continue; // already delivered
                    lastSeq = seq;
                  }
                  this.lastEventId = e.id;
                }
                failures = 0;
                if (e.event === 'token') {
                  const t = parseData<TokenEvent>(e.data, e.event);
                  yield { id: t.token_id, text: t.token, position: t.position, index: index++, eventId: e.id ?? '' };
                } else if (e.event === 'complete') {
                  this.complete = parseData<CompleteEvent>(e.data, e.event);
                  return;
                } else if (e.event === 'error') {
                  throw new BitnetStreamError(parseData<ErrorEvent>(e.data, e.event));
                }
              }
            }
          } finally {
            reader.cancel().catch(() => undefined);
          }
          cause = new Error('the stream ended before its complete or error event');
        } catch (err) {
          if (local.signal.aborted) throw user?.aborted ? user.reason : err;
          if (err instanceof BitnetHttpError && RETRYABLE.has(err.status)) retryAfterMs = err.retryAfterMs;
          else if (err instanceof BitnetError) throw err;
          cause = err; // a network error
        }
        failures++;
        if (failures > maxRetries) {
          throw new BitnetConnectionError(`gave up after ${failures} failed attempts in a row (${errorText(cause)})`, attempts, cause);
        }
        const delayMs = retryAfterMs ?? Math.min(maxDelayMs, initialDelayMs * 2 ** (failures - 1));
        this.options.onReconnect?.({ attempt: failures, lastEventId: this.lastEventId, delayMs, cause });
        await sleep(delayMs, local.signal);
      }
    } finally {
      user?.removeEventListener('abort', onAbort);
      local.abort(); // ends a connection still open (an early break); a no-op after a normal end
    }
  }
}

/** `<stream>:<n>` → n. */
function sequenceOf(id: string): number | undefined {
  const n = Number(id.slice(id.lastIndexOf(':') + 1));
  return Number.isInteger(n) ? n : undefined;
}

function parseData<T>(data: string, event: string): T {
  try {
    return JSON.parse(data) as T;
  } catch {
    throw new BitnetError(`the ${event} event's data is not JSON: ${data.slice(0, 80)}`);
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A response with an error status as a BitnetHttpError (its JSON body, Retry-After). */
async function httpError(res: Response): Promise<BitnetHttpError> {
  const text = await res.text().catch(() => '');
  let body: unknown = text === '' ? undefined : text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: the text is kept
  }
  return new BitnetHttpError(res.status, body, retryAfter(res.headers.get('retry-after')));
}

/** Retry-After: delay-seconds or an HTTP date, in ms. */
function retryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** Waits ms, or rejects with the signal's reason when it aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      if (signal.aborted) reject(signal.reason);
      else resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
