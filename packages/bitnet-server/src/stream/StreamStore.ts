import type { GenerationConfig, StreamingConfig } from '@bitnet/inference';

/** One SSE event of a /v1/stream generation, as sent, stored and replayed. */
export interface LoggedEvent {
  /** `<stream id>:<n>`, n counting from 1 (in Redis the entry id is `0-<n>`). */
  id: string;
  seq: number;
  event: 'token' | 'complete' | 'error';
  data: Record<string, unknown>;
}

/**
 * What a stream was asked: enough for any replica to run it again and get the same ids (generation
 * is deterministic: same prompt ids, config and seed give the same ids, alone or in any batch).
 */
export interface StoredRequest {
  promptIds: number[];
  /** The complete generation config (seed included). */
  generation: GenerationConfig;
  /** The complete streaming config. */
  streaming: StreamingConfig;
  /** Error events carry recovery hints. */
  detailedErrors: boolean;
  /** Token events carry logprobs with this many alternatives (absent: none). */
  logprobs?: number;
  /** The GBNF grammar the output follows (from json_schema or grammar; absent: free text). */
  grammar?: string;
  /** Date.now() when the stream was created. */
  createdAt: number;
}

/**
 * Where the streams of /v1/stream live while they can be replayed or revived: their request, their
 * events (in order, seq 1, 2, …, the last one a `complete` or `error`), and a lease naming the
 * replica that generates the stream now.
 *
 * Two implementations: `MemoryStreamStore` (one process, the default) and `RedisStreamStore`
 * (`--redis-url`: shared by every replica). A stream's events are written only by the lease holder,
 * and `append` refuses an event whose seq is not the next one, so two writers can never interleave.
 *
 * Lease rules: a stream is created with its lease held by its creator. The holder renews it while it
 * generates. It releases it when the generation stops without ending the stream (client gone,
 * graceful shutdown with a shared store): the stream is then *suspended*, and the next reconnect
 * takes the lease and revives it. A lease that is not renewed expires after its ttl (owner died).
 */
export interface StreamStore {
  /** 'memory' or 'redis'. */
  readonly kind: 'memory' | 'redis';
  /** Whether other replicas see this store's streams (Redis): graceful shutdown then suspends streams instead of ending them. */
  readonly shared: boolean;
  /** Why the store is not fully working now (Redis unreachable: streams kept in memory only), or undefined. */
  degradedReason(): string | undefined;
  /** Creates a stream with a fresh id (unique across replicas) whose lease `owner` holds. */
  create(request: StoredRequest, owner: string, leaseMs: number): Promise<string>;
  /** The stream's request, or undefined when the stream is unknown or expired. */
  request(id: string): Promise<StoredRequest | undefined>;
  /**
   * Appends the event with seq = the stream's next seq, written by the lease holder `owner`. Resolves
   * false when the event was refused (its seq was already written: another replica generates this
   * stream); the caller must stop generating. Transient store errors are handled inside (kept and
   * retried), never thrown.
   */
  append(id: string, event: LoggedEvent, owner: string): Promise<boolean>;
  /** Events with seq > after, in order; undefined when some of them are no longer kept (or the stream is unknown). */
  read(id: string, after: number): Promise<LoggedEvent[] | undefined>;
  /**
   * Resolves with the events after `after` as soon as there are any, or with [] after about
   * `timeoutMs`, or when the lease becomes free, or when `signal` aborts. Never rejects.
   */
  wait(id: string, after: number, timeoutMs: number, signal: AbortSignal): Promise<LoggedEvent[]>;
  /** Takes the lease when it is free (released or expired). Exactly one of several racing callers gets true. */
  acquire(id: string, owner: string, leaseMs: number): Promise<boolean>;
  /**
   * Extends the lease `owner` holds. 'held': extended; 'lost': someone else holds it (stop generating);
   * 'unknown': the store could not be asked (Redis down: keep going).
   */
  renew(id: string, owner: string, leaseMs: number): Promise<'held' | 'lost' | 'unknown'>;
  /** Frees the lease when `owner` holds it (the stream becomes suspended). */
  release(id: string, owner: string): Promise<void>;
  /** Closes connections and timers. */
  close(): Promise<void>;
}

/** Parses `Last-Event-ID` of this server's form: `<stream id>:<n>`. */
export function parseEventId(value: string | undefined): { stream: string; seq: number } | undefined {
  if (!value) return undefined;
  const m = /^([A-Za-z0-9_-]{8,64}):(\d{1,9})$/.exec(value.trim());
  return m ? { stream: m[1], seq: Number(m[2]) } : undefined;
}
