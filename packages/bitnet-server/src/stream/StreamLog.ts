import { randomBytes } from 'node:crypto';

/** One SSE event of a /v1/stream generation, as sent and as replayed. */
export interface LoggedEvent {
  /** `<stream id>:<n>`, n counting from 1. */
  id: string;
  seq: number;
  event: 'token' | 'complete' | 'error';
  data: Record<string, unknown>;
}

type Listener = (e: LoggedEvent) => void;

/**
 * The events of one generation, kept (up to a bound) after they were sent so that a client that
 * reconnects with `Last-Event-ID` gets exactly the events it missed. Its `token` events are the
 * engine stream's pieces as they came (one per generated id, with that id's text), so a replay
 * gives back the same ids and texts as the live stream.
 */
export class StreamLog {
  readonly events: LoggedEvent[] = [];
  /** Sequence number of events[0] (older events were dropped to stay within the bound). */
  private firstSeq = 1;
  private nextSeq = 1;
  private ended = false;
  private readonly listeners = new Set<Listener>();
  endedAt = 0;

  constructor(
    readonly id: string,
    private readonly maxEvents: number,
  ) {}

  get done(): boolean {
    return this.ended;
  }

  /** Records an event and returns it with its id. */
  append(event: LoggedEvent['event'], data: Record<string, unknown>): LoggedEvent {
    const seq = this.nextSeq++;
    const e: LoggedEvent = { id: `${this.id}:${seq}`, seq, event, data };
    this.events.push(e);
    if (this.events.length > this.maxEvents) {
      this.events.shift();
      this.firstSeq++;
    }
    if (event !== 'token') {
      this.ended = true;
      this.endedAt = Date.now();
    }
    for (const l of this.listeners) l(e);
    return e;
  }

  /** Events after `seq`, or undefined when some of them are no longer kept. */
  after(seq: number): LoggedEvent[] | undefined {
    if (seq + 1 < this.firstSeq) return undefined;
    return this.events.filter((e) => e.seq > seq);
  }

  /** Receive the events appended from now on; returns the unsubscribe function. */
  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

/**
 * The logs of recent generations: at most `maxStreams` (oldest finished first out), a finished one
 * kept for `ttlMs`.
 */
export class StreamLogStore {
  private readonly logs = new Map<string, StreamLog>();

  constructor(
    private readonly maxStreams = 256,
    private readonly maxEventsPerStream = 4096,
    private readonly ttlMs = 5 * 60_000,
  ) {}

  /** A new, empty stream log with a fresh id. */
  create(): StreamLog {
    this.prune();
    const log = new StreamLog(randomBytes(9).toString('base64url'), this.maxEventsPerStream);
    this.logs.set(log.id, log);
    return log;
  }

  /** The log of a stream, while it is kept. */
  get(id: string): StreamLog | undefined {
    this.prune();
    return this.logs.get(id);
  }

  /** Parses `Last-Event-ID` of this server's form: `<stream id>:<n>`. */
  static parseEventId(value: string | undefined): { stream: string; seq: number } | undefined {
    if (!value) return undefined;
    const m = /^([A-Za-z0-9_-]{8,64}):(\d{1,9})$/.exec(value.trim());
    return m ? { stream: m[1], seq: Number(m[2]) } : undefined;
  }

  private prune(): void {
    const now = Date.now();
    for (const [id, log] of this.logs) if (log.done && now - log.endedAt > this.ttlMs) this.logs.delete(id);
    if (this.logs.size < this.maxStreams) return;
    for (const [id, log] of this.logs) {
      if (this.logs.size < this.maxStreams) break;
      if (log.done) this.logs.delete(id);
    }
  }
}
