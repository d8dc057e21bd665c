import { randomBytes } from 'node:crypto';
import type { LoggedEvent, StoredRequest, StreamStore } from './StreamStore';

/** Limits and clock of a {@link MemoryStreamStore}; the defaults are those of the in-memory stream log. */
export interface MemoryStreamStoreOptions {
  /** Streams kept at most (default 256); streams with a live lease are never evicted, so this may be exceeded. */
  maxStreams?: number;
  /** Events kept per stream (default 4096); older ones are dropped and reading them gives undefined. */
  maxEventsPerStream?: number;
  /** How long a finished or suspended stream is kept after its last activity (default 5 minutes). */
  ttlMs?: number;
  /** The clock (default Date.now), injectable for tests. */
  now?: () => number;
}

interface Lease {
  owner: string;
  expiresAt: number;
}

interface Entry {
  request: StoredRequest;
  events: LoggedEvent[];
  /** Seq the next appended event must carry. */
  nextSeq: number;
  ended: boolean;
  lease?: Lease;
  /** Last create / append / lease change: a stream without a live lease expires ttlMs after it. */
  activeAt: number;
  /** Called on every change a waiter may care about (append, lease change, removal). */
  listeners: Set<() => void>;
}

/**
 * The streams of one process, in memory: the default {@link StreamStore}, and the local copy a
 * `RedisStreamStore` keeps of its replica's own streams. Policy of the former stream log: at most
 * `maxStreams` streams (the oldest without a live lease evicted first), at most `maxEventsPerStream`
 * events each, and a stream without a live lease kept `ttlMs` after its last activity.
 */
export class MemoryStreamStore implements StreamStore {
  /** Always 'memory'. */
  readonly kind = 'memory' as const;
  /** Other processes never see these streams. */
  readonly shared = false;
  private readonly streams = new Map<string, Entry>();
  private readonly maxStreams: number;
  private readonly maxEvents: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  /** A store with the given limits (defaults: 256 streams, 4096 events each, 5 minutes). */
  constructor(options: MemoryStreamStoreOptions = {}) {
    this.maxStreams = options.maxStreams ?? 256;
    this.maxEvents = options.maxEventsPerStream ?? 4096;
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
    this.now = options.now ?? Date.now;
  }

  /** A memory store always works: undefined. */
  degradedReason(): string | undefined {
    return undefined;
  }

  /** Creates a stream with a fresh random id, its lease held by `owner` for `leaseMs`. */
  async create(request: StoredRequest, owner: string, leaseMs: number): Promise<string> {
    const id = randomBytes(9).toString('base64url');
    this.put(id, request, [], owner, leaseMs);
    return id;
  }

  /** The stream's request, or undefined when unknown or expired. */
  async request(id: string): Promise<StoredRequest | undefined> {
    return this.entry(id)?.request;
  }

  /** Appends `event` when its seq is exactly the next one and `owner` holds the lease; false otherwise. */
  async append(id: string, event: LoggedEvent, owner: string): Promise<boolean> {
    const e = this.entry(id);
    if (!e || e.ended || event.seq !== e.nextSeq || this.holder(id) !== owner) return false;
    e.events.push(event);
    if (e.events.length > this.maxEvents) e.events.splice(0, e.events.length - this.maxEvents);
    e.nextSeq++;
    if (event.event !== 'token') e.ended = true;
    e.activeAt = this.now();
    this.notify(e);
    return true;
  }

  /** Events with seq > after; undefined when some of them were trimmed or the stream is unknown. */
  async read(id: string, after: number): Promise<LoggedEvent[] | undefined> {
    return this.readNow(id, after);
  }

  /** Synchronous {@link request}. */
  requestNow(id: string): StoredRequest | undefined {
    return this.entry(id)?.request;
  }

  /** Synchronous {@link read}. */
  readNow(id: string, after: number): LoggedEvent[] | undefined {
    const e = this.entry(id);
    if (!e) return undefined;
    const first = e.events.length ? e.events[0].seq : e.nextSeq;
    if (after + 1 < first) return undefined;
    return e.events.filter((ev) => ev.seq > after);
  }

  /** Resolves on the next events, a free lease, the timeout, an abort or close; never rejects. */
  wait(id: string, after: number, timeoutMs: number, signal: AbortSignal): Promise<LoggedEvent[]> {
    const e = this.entry(id);
    const ready = this.readNow(id, after);
    if (!e || !ready || ready.length || !this.holder(id) || signal.aborted) return Promise.resolve(ready ?? []);
    return new Promise((resolve) => {
      let leaseTimer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        clearTimeout(timeout);
        clearTimeout(leaseTimer);
        e.listeners.delete(check);
        signal.removeEventListener('abort', finish);
        resolve(this.readNow(id, after) ?? []);
      };
      const check = (): void => {
        const evs = this.readNow(id, after);
        if (!evs || evs.length || !this.holder(id) || !this.streams.has(id)) return finish();
        armLeaseTimer();
      };
      const armLeaseTimer = (): void => {
        clearTimeout(leaseTimer);
        const lease = e.lease;
        if (!lease) return;
        leaseTimer = setTimeout(check, Math.max(1, Math.min(timeoutMs, lease.expiresAt - this.now() + 1)));
      };
      const timeout = setTimeout(finish, timeoutMs);
      e.listeners.add(check);
      signal.addEventListener('abort', finish, { once: true });
      armLeaseTimer();
    });
  }

  /** Takes the lease when it is free (released or expired). */
  async acquire(id: string, owner: string, leaseMs: number): Promise<boolean> {
    const e = this.entry(id);
    if (!e || this.holder(id)) return false;
    this.setLease(e, owner, leaseMs);
    return true;
  }

  /**
   * Extends the lease `owner` holds ('held'; a lease that expired without anyone taking it is taken
   * again), or 'lost' when someone else holds it or the stream is gone.
   */
  async renew(id: string, owner: string, leaseMs: number): Promise<'held' | 'lost' | 'unknown'> {
    const e = this.entry(id);
    const holder = this.holder(id);
    if (!e || (holder !== undefined && holder !== owner)) return 'lost';
    this.setLease(e, owner, leaseMs);
    return 'held';
  }

  /** Frees the lease when `owner` holds it. */
  async release(id: string, owner: string): Promise<void> {
    const e = this.entry(id);
    if (!e || this.holder(id) !== owner) return;
    e.lease = undefined;
    e.activeAt = this.now();
    this.notify(e);
  }

  /** Wakes every waiter and forgets every stream. */
  async close(): Promise<void> {
    const all = [...this.streams.values()];
    this.streams.clear();
    for (const e of all) this.notify(e);
  }

  // ---- for the Redis store's local copy ----

  /** Whether the stream is kept here. */
  has(id: string): boolean {
    return this.entry(id) !== undefined;
  }

  /** Seq of the stream's last event (0 when none), or undefined when the stream is unknown. */
  lastSeq(id: string): number | undefined {
    const e = this.entry(id);
    return e ? e.nextSeq - 1 : undefined;
  }

  /** Seq of the oldest event still kept (the next seq when none), or undefined when the stream is unknown. */
  firstSeq(id: string): number | undefined {
    const e = this.entry(id);
    return e ? (e.events[0]?.seq ?? e.nextSeq) : undefined;
  }

  /** The owner of the stream's live lease, or undefined when it is free (or the stream is unknown). */
  holder(id: string): string | undefined {
    const lease = this.streams.get(id)?.lease;
    return lease && lease.expiresAt > this.now() ? lease.owner : undefined;
  }

  /** Gives the lease to `owner` whoever holds it (the shared store decided). False when the stream is unknown. */
  takeLease(id: string, owner: string, leaseMs: number): boolean {
    const e = this.entry(id);
    if (!e) return false;
    this.setLease(e, owner, leaseMs);
    return true;
  }

  /**
   * Keeps a stream read from elsewhere under its id (replacing what was kept), with the lease given
   * to `owner`; `events` are its last events in order (older ones count as trimmed).
   */
  adopt(id: string, request: StoredRequest, events: LoggedEvent[], owner: string, leaseMs: number): void {
    const previous = this.streams.get(id);
    this.streams.delete(id);
    this.put(id, request, events.slice(-this.maxEvents), owner, leaseMs);
    if (previous) this.notify(previous);
  }

  /** Drops the stream (waiters resolve). */
  forget(id: string): void {
    const e = this.streams.get(id);
    this.streams.delete(id);
    if (e) this.notify(e);
  }

  private put(id: string, request: StoredRequest, events: LoggedEvent[], owner: string, leaseMs: number): void {
    this.prune();
    const last = events.length ? events[events.length - 1] : undefined;
    const e: Entry = {
      request,
      events: [...events],
      nextSeq: last ? last.seq + 1 : 1,
      ended: last !== undefined && last.event !== 'token',
      activeAt: this.now(),
      listeners: new Set(),
    };
    this.setLease(e, owner, leaseMs);
    this.streams.set(id, e);
  }

  private setLease(e: Entry, owner: string, leaseMs: number): void {
    e.lease = { owner, expiresAt: this.now() + leaseMs };
    e.activeAt = this.now();
    this.notify(e);
  }

  private notify(e: Entry): void {
    for (const l of [...e.listeners]) l();
  }

  /** The stream when kept and not expired (an expired one is dropped). */
  private entry(id: string): Entry | undefined {
    const e = this.streams.get(id);
    if (e && this.expired(e)) {
      this.forget(id);
      return undefined;
    }
    return e;
  }

  private expired(e: Entry): boolean {
    const now = this.now();
    if (e.lease && e.lease.expiresAt > now) return false;
    const since = Math.max(e.activeAt, e.lease?.expiresAt ?? 0);
    return now - since > this.ttlMs;
  }

  /** Drops expired streams, then the oldest streams without a live lease while at the bound. */
  private prune(): void {
    for (const [id, e] of this.streams) if (this.expired(e)) this.forget(id);
    for (const id of [...this.streams.keys()]) {
      if (this.streams.size < this.maxStreams) break;
      if (!this.holder(id)) this.forget(id);
    }
  }
}
