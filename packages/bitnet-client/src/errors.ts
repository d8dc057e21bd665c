/**
 * The client's errors. Every one extends {@link BitnetError}, so `err instanceof BitnetError`
 * separates them from programming errors; an abort is none of them (it rejects with the signal's
 * reason, see {@link BitnetStream}).
 */
import type { ErrorEvent } from './types';

/** The base class of the client's errors. */
export class BitnetError extends Error {
  /** @param message - what went wrong; @param options - `cause`, when there is one */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The server answered with an HTTP error status: its JSON body `{ error: { type, message, … } }`
 * is kept in `body`, its type and message copied out. A 410 on a reconnect (the server no longer
 * keeps the stream's events) is one too.
 */
export class BitnetHttpError extends BitnetError {
  /** The error's `type` from the body (`invalid_request_error`, `replay_unavailable`, …), or `http_<status>` when the body had none. */
  readonly type: string;
  /** The error's `param` from the body (the request field at fault), when there is one. */
  readonly param: string | undefined;

  /**
   * @param status - the HTTP status
   * @param body - the parsed JSON body (or the text when it was not JSON, or undefined)
   * @param retryAfterMs - the `Retry-After` header in milliseconds, when there was one
   */
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly retryAfterMs?: number,
  ) {
    const err = errorObject(body);
    const type = typeof err?.type === 'string' ? err.type : `http_${status}`;
    super(typeof err?.message === 'string' ? err.message : `HTTP ${status}`);
    this.type = type;
    this.param = typeof err?.param === 'string' ? err.param : undefined;
  }
}

/** The stream's `error` event: the generation failed after the stream had started. */
export class BitnetStreamError extends BitnetError {
  /** The event's `error_type`. */
  readonly error_type: string;
  /** The event's `tokens_before_error`: tokens sent before it. */
  readonly tokens_before_error: number;
  /** The event's `recovery_hints`, with `detailed_errors: true`. */
  readonly recovery_hints: string[] | undefined;

  /** @param event - the `error` event's data */
  constructor(readonly event: ErrorEvent) {
    super(event.message);
    this.error_type = event.error_type;
    this.tokens_before_error = event.tokens_before_error;
    this.recovery_hints = event.recovery_hints;
  }
}

/**
 * The connection could not be (re)established within the retry budget: `cause` is the last
 * failure (a network error, a body that ended without a terminal event, or a 429/5xx
 * {@link BitnetHttpError}).
 */
export class BitnetConnectionError extends BitnetError {
  /**
   * @param message - what gave up
   * @param attempts - the requests made, the first one included
   * @param cause - the last failure
   */
  constructor(
    message: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(message, { cause });
  }
}

function errorObject(body: unknown): Record<string, unknown> | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const e = (body as { error?: unknown }).error;
  return e && typeof e === 'object' ? (e as Record<string, unknown>) : undefined;
}
