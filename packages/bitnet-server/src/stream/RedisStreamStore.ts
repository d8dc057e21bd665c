import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { MemoryStreamStore } from './MemoryStreamStore';
import { pause } from './pause';
import type { LoggedEvent, StoredRequest, StreamStore } from './StreamStore';
import { ACQUIRE, APPEND, RELEASE, RENEW, unreachableReason, key, seqOf, toEvent, type Entry } from './redisStreamScripts';

/** Options of {@link RedisStreamStore.connect}. */
export interface RedisStreamStoreOptions {
  /** This replica's own streams (default: a new MemoryStreamStore with the same limits). */
  memory?: MemoryStreamStore;
  /** Events kept per stream (XADD MAXLEN, default 4096). */
  maxEventsPerStream?: number;
  /** Expiry of a stream's keys after its last write (default 5 minutes). */
  ttlMs?: number;
  /** Poll interval of wait() for streams generated elsewhere (default 50 ms). */
  pollMs?: number;
  /** Called when the store becomes degraded (with the reason) or works again (undefined). */
  onStateChange?: (reason: string | undefined) => void;
  /** Receives what the store would log (a stream refused while mirroring, unexpected errors). */
  log?: (message: string, error?: unknown) => void;
}

/** What this replica knows of how far Redis has a local stream. */
interface Mirror {
  owner: string;
  leaseMs: number;
  /** Last seq known to be in Redis. */
  redisTop: number;
  requestWritten: boolean;
  /** Mirroring writes of this stream, one after the other. */
  chain: Promise<void>;
}


/** What one round trip tells about a stream in Redis. */
interface Snapshot {
  known: boolean;
  /** Events after the asked seq; undefined when some were trimmed. */
  events: LoggedEvent[] | undefined;
  leaseFree: boolean;
}

/**
 * The {@link StreamStore} shared by every replica through Redis: per stream a Redis Stream
 * `bitnet:stream:<id>:events` (entry ids `0-<seq>`, capped with MAXLEN), the request as JSON at
 * `bitnet:stream:<id>:request` and the lease at `bitnet:stream:<id>:lease`; every write refreshes a
 * 5-minute expiry. The replica also keeps its own streams in memory: while Redis is unreachable they
 * go on working there (the store is degraded), and their events are mirrored to Redis in order as
 * soon as it answers again (a stream Redis lost is written again from memory). Nothing throws when
 * Redis is down.
 */
export class RedisStreamStore implements StreamStore {
  /** Always 'redis'. */
  readonly kind = 'redis' as const;
  /** Every replica sees these streams. */
  readonly shared = true;
  private readonly memory: MemoryStreamStore;
  private readonly mirrors = new Map<string, Mirror>();
  private readonly maxEvents: number;
  private readonly ttlMs: number;
  private readonly pollMs: number;
  private reason: string | undefined = 'redis not connected yet; streams are kept in this replica only';
  private closed = false;
  private reportedDown = false;

  private constructor(
    private readonly redis: Redis,
    private readonly options: RedisStreamStoreOptions,
  ) {
    this.maxEvents = options.maxEventsPerStream ?? 4096;
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
    this.pollMs = options.pollMs ?? 50;
    this.memory = options.memory ?? new MemoryStreamStore({ maxEventsPerStream: this.maxEvents, ttlMs: this.ttlMs });
    redis.on('ready', () => {
      this.setReason(undefined);
      void this.flushAll();
    });
    redis.on('error', (err: Error & { code?: string }) => this.setReason(unreachableReason(err)));
    redis.on('close', () => {
      if (this.reason === undefined) this.setReason(unreachableReason(new Error('connection closed')));
    });
  }

  /**
   * Connects to `url` (redis://…). Never fails: when Redis is down the store starts degraded and
   * keeps reconnecting (backoff capped at 2 s).
   */
  static async connect(url: string, options: RedisStreamStoreOptions = {}): Promise<RedisStreamStore> {
    const redis = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
      disconnectTimeout: 200,
      commandTimeout: 2000,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    });
    const store = new RedisStreamStore(redis, options);
    await redis.connect().catch(() => undefined);
    return store;
  }

  /** Why Redis is not used now (unreachable: streams kept in this replica only), or undefined. */
  degradedReason(): string | undefined {
    return this.up() ? undefined : (this.reason ?? 'redis not connected; streams are kept in this replica only');
  }

  /** Creates a stream (in memory, and in Redis when it answers) whose lease `owner` holds. */
  async create(request: StoredRequest, owner: string, leaseMs: number): Promise<string> {
    const id = randomBytes(9).toString('base64url');
    this.memory.adopt(id, request, [], owner, leaseMs);
    const m: Mirror = { owner, leaseMs, redisTop: 0, requestWritten: false, chain: Promise.resolve() };
    this.mirrors.set(id, m);
    for (const [other] of this.mirrors) if (!this.memory.has(other)) this.mirrors.delete(other);
    if (this.up()) {
      await this.attempt(async () => {
        await this.redis.multi().set(key(id, 'request'), JSON.stringify(request), 'PX', this.ttlMs)
          .set(key(id, 'lease'), owner, 'PX', leaseMs).exec();
        m.requestWritten = true;
      });
    }
    return id;
  }

  /** The stream's request (from Redis, else from memory), or undefined. */
  async request(id: string): Promise<StoredRequest | undefined> {
    if (this.up()) {
      const json = await this.attempt(() => this.redis.get(key(id, 'request')));
      if (json) return JSON.parse(json) as StoredRequest;
    }
    return this.memory.request(id);
  }

  /**
   * Appends `event` in memory (the lease and seq checked there), then mirrors it to Redis; false when
   * refused here or by Redis (another writer). While Redis is down the event waits in memory.
   */
  async append(id: string, event: LoggedEvent, owner: string): Promise<boolean> {
    const m = this.mirrors.get(id);
    if (!m || !this.memory.has(id)) return false;
    if (!(await this.memory.append(id, event, owner))) return false;
    m.owner = owner;
    await this.flush(id, m);
    return this.mirrors.get(id) === m;
  }

  /** Events with seq > after, from Redis (from memory while it is down or behind); undefined when trimmed or unknown. */
  async read(id: string, after: number): Promise<LoggedEvent[] | undefined> {
    if (this.localFirst(id)) return this.memory.readNow(id, after);
    const snap = await this.attempt(() => this.snapshot(id, after));
    if (!snap || !snap.known) return this.memory.readNow(id, after);
    return snap.events;
  }

  /** Waits in memory for streams this replica writes, else polls Redis every pollMs. Never rejects. */
  async wait(id: string, after: number, timeoutMs: number, signal: AbortSignal): Promise<LoggedEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (!signal.aborted && !this.closed) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) return [];
      if (this.memory.holder(id) || (this.localFirst(id) && this.memory.has(id))) {
        return this.memory.wait(id, after, remaining, signal);
      }
      if (this.up()) {
        const snap = await this.attempt(() => this.snapshot(id, after));
        if (snap && (!snap.known || !snap.events || snap.events.length || snap.leaseFree)) return snap.events ?? [];
      }
      await pause(Math.min(this.pollMs, Math.max(1, deadline - Date.now())), signal);
    }
    return [];
  }

  /** Takes the lease in Redis with SET NX (in memory while Redis is down); a stream taken over is copied to memory. */
  async acquire(id: string, owner: string, leaseMs: number): Promise<boolean> {
    if (!this.up()) return this.memory.acquire(id, owner, leaseMs);
    const keys = [key(id, 'request'), key(id, 'lease')];
    const got = await this.attempt(() => this.redis.eval(ACQUIRE, 2, ...keys, owner, leaseMs) as Promise<number>);
    if (got === undefined || got === -1) return this.memory.acquire(id, owner, leaseMs);
    if (got !== 1) return false;
    const m = this.mirrors.get(id);
    // the local copy is used when Redis has nothing it lacks (another replica may have written more)
    const top = m && (await this.attempt(() => this.redis.xrevrange(key(id, 'events'), '+', '-', 'COUNT', 1)));
    const redisTop = top ? (top.length ? seqOf(top[0][0]) : 0) : Infinity;
    if (m && redisTop <= (this.memory.lastSeq(id) ?? -1) && this.memory.takeLease(id, owner, leaseMs)) {
      m.owner = owner;
      m.leaseMs = leaseMs;
      return true;
    }
    const copied = await this.attempt(async () => {
      const [request, entries] = await Promise.all([
        this.redis.get(key(id, 'request')),
        this.redis.xrange(key(id, 'events'), '-', '+') as Promise<Entry[]>,
      ]);
      if (!request) return false;
      const events = entries.map((e) => toEvent(id, e));
      this.memory.adopt(id, JSON.parse(request) as StoredRequest, events, owner, leaseMs);
      const top = events.length ? events[events.length - 1].seq : 0;
      this.mirrors.set(id, { owner, leaseMs, redisTop: top, requestWritten: true, chain: Promise.resolve() });
      return true;
    });
    if (copied) return true;
    await this.attempt(() => this.redis.eval(RELEASE, 1, key(id, 'lease'), owner));
    return false;
  }

  /** Extends the lease in Redis ('unknown' when Redis cannot be asked; the memory lease is extended too). */
  async renew(id: string, owner: string, leaseMs: number): Promise<'held' | 'lost' | 'unknown'> {
    const local = this.memory.has(id) ? await this.memory.renew(id, owner, leaseMs) : undefined;
    const m = this.mirrors.get(id);
    if (m) m.leaseMs = leaseMs;
    if (!this.up()) return local === 'lost' ? 'lost' : 'unknown';
    const keys = [key(id, 'events'), key(id, 'request'), key(id, 'lease')];
    const r = await this.attempt(() => this.redis.eval(RENEW, 3, ...keys, owner, leaseMs, this.ttlMs) as Promise<number>);
    if (r === undefined) return local === 'lost' ? 'lost' : 'unknown';
    if (r === 1) {
      this.memory.takeLease(id, owner, leaseMs);
      return 'held';
    }
    // not in Redis at all but kept here (Redis lost it): mirroring writes it again
    if (local === 'held' && (await this.attempt(() => this.redis.exists(key(id, 'request')))) === 0) return 'held';
    await this.memory.release(id, owner); // another replica writes it now: waits here must poll Redis
    return 'lost';
  }

  /** Frees the lease (in memory and in Redis) when `owner` holds it. */
  async release(id: string, owner: string): Promise<void> {
    await this.memory.release(id, owner);
    if (this.up()) await this.attempt(() => this.redis.eval(RELEASE, 1, key(id, 'lease'), owner));
  }

  /** Closes the Redis connection and the memory store. */
  async close(): Promise<void> {
    this.closed = true;
    const quit = this.redis.status === 'ready' && (await this.redis.quit().then(() => true, () => false));
    if (!quit) this.redis.disconnect();
    await this.memory.close();
  }

  private up(): boolean {
    return !this.closed && this.redis.status === 'ready';
  }

  /** Whether reads of this stream must come from memory (Redis down, or behind this replica's copy). */
  private localFirst(id: string): boolean {
    if (!this.up()) return true;
    const m = this.mirrors.get(id);
    const last = this.memory.lastSeq(id);
    return m !== undefined && last !== undefined && (m.redisTop < last || !m.requestWritten);
  }

  private setReason(reason: string | undefined): void {
    if (reason === this.reason) return;
    this.reason = reason;
    // "works again" only after a reported outage (not on the first connection)
    if (this.closed || (reason === undefined && !this.reportedDown)) return;
    this.reportedDown = reason !== undefined;
    this.options.onStateChange?.(reason);
  }

  /** Runs a Redis call; undefined when it failed (connection errors degrade the store, they are not thrown). */
  private async attempt<T>(f: () => Promise<T>): Promise<T | undefined> {
    try {
      return await f();
    } catch (err) {
      if (this.up()) this.options.log?.('redis stream store: command failed', err);
      return undefined;
    }
  }

  private async snapshot(id: string, after: number): Promise<Snapshot> {
    const events = key(id, 'events');
    const res = await this.redis.multi().exists(key(id, 'request')).xrange(events, '-', '+', 'COUNT', 1)
      .xrange(events, `0-${after + 1}`, '+').get(key(id, 'lease')).exec();
    if (!res) throw new Error('transaction aborted');
    for (const [err] of res) if (err) throw err;
    const [known, first, rest, lease] = res.map(([, v]) => v) as [number, Entry[], Entry[], string | null];
    const firstSeq = first.length ? seqOf(first[0][0]) : undefined;
    const trimmed = firstSeq !== undefined && firstSeq > after + 1;
    return { known: known === 1, events: trimmed ? undefined : rest.map((e) => toEvent(id, e)), leaseFree: lease === null };
  }

  /** After a (re)connection: checks what Redis still has of each local stream (it may have lost it) and writes the rest. */
  private async flushAll(): Promise<void> {
    for (const [id, m] of [...this.mirrors]) {
      if (!this.memory.has(id)) {
        this.mirrors.delete(id);
        continue;
      }
      m.chain = m.chain.then(async () => {
        const last = await this.attempt(() => this.redis.xrevrange(key(id, 'events'), '+', '-', 'COUNT', 1));
        const known = await this.attempt(() => this.redis.exists(key(id, 'request')));
        if (!last || known === undefined) return;
        if (known === 0) m.requestWritten = false;
        m.redisTop = Math.min(m.redisTop, last.length ? seqOf(last[0][0]) : 0);
      });
      await this.flush(id, m);
    }
  }

  /** Writes the stream's events Redis does not have yet, in order, after the writes already queued. */
  private flush(id: string, m: Mirror): Promise<void> {
    m.chain = m.chain.then(() => this.flushNow(id, m)).catch((err) => this.options.log?.('redis stream store: mirroring failed', err));
    return m.chain;
  }

  private async flushNow(id: string, m: Mirror): Promise<void> {
    for (let steps = 0; steps < 4 * this.maxEvents + 8 && this.up() && this.mirrors.get(id) === m; steps++) {
      const request = this.memory.requestNow(id);
      const last = this.memory.lastSeq(id);
      if (!request || last === undefined) return;
      if (!m.requestWritten) {
        const ok = await this.attempt(() => this.redis.set(key(id, 'request'), JSON.stringify(request), 'PX', this.ttlMs));
        if (!ok) return;
        m.requestWritten = true;
      }
      if (m.redisTop >= last) return;
      let gapOk = false;
      let pending = this.memory.readNow(id, m.redisTop);
      if (!pending) {
        // events Redis lacks were trimmed here too: write from the oldest kept
        pending = this.memory.readNow(id, (this.memory.firstSeq(id) ?? 1) - 1) ?? [];
        gapOk = true;
      }
      const ev = pending[0];
      if (!ev) return;
      const holds = this.memory.holder(id) === m.owner;
      const keys = [key(id, 'events'), key(id, 'request'), key(id, 'lease')];
      const args = [ev.seq, m.owner, holds ? m.leaseMs : 0, this.ttlMs, this.maxEvents, ev.event, JSON.stringify(ev.data), gapOk ? 1 : 0];
      const r = await this.attempt(() => this.redis.eval(APPEND, 3, ...keys, ...args) as Promise<[number, number]>);
      if (!r) return;
      const [code, top] = r;
      if (code === 1) m.redisTop = Math.max(m.redisTop, ev.seq);
      else if (code === -1) m.redisTop = top;
      else if (code === -3) {
        m.requestWritten = false;
        m.redisTop = 0;
      } else {
        this.options.log?.(`redis stream store: stream ${id} is written by another replica from seq ${ev.seq}`);
        this.mirrors.delete(id);
        this.memory.forget(id);
        return;
      }
    }
  }
}
