import Redis from 'ioredis';
import { RedisStreamStore } from './RedisStreamStore';
import { freePort, startRedis, type TestRedis } from '../testing/redisServer';
import { appendRange, describeStreamStore, ev, sampleRequest } from '../testing/streamStoreBehaviour';

const never = new AbortController().signal;

/** Polls `f` every 50 ms until it is truthy (at most `ms`). */
async function eventually<T>(f: () => Promise<T> | T, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('RedisStreamStore', () => {
  let redis: TestRedis;
  let admin: Redis;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    redis = await startRedis();
    admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    admin?.disconnect();
    await redis?.stop();
    process.off('unhandledRejection', onUnhandled);
  });
  afterEach(() => expect(unhandled).toEqual([]));

  describeStreamStore('redis', (limits) => RedisStreamStore.connect(redis.url, limits));

  describe('in Redis', () => {
    const open: RedisStreamStore[] = [];
    const connect = async (url = redis.url, options: Parameters<typeof RedisStreamStore.connect>[1] = {}): Promise<RedisStreamStore> => {
      const s = await RedisStreamStore.connect(url, options);
      open.push(s);
      return s;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });

    it('writes the layout of the contract, with expiries on every key', async () => {
      const store = await connect();
      expect(store.kind).toBe('redis');
      expect(store.shared).toBe(true);
      expect(store.degradedReason()).toBeUndefined();
      const id = await store.create(sampleRequest(), 'a', 5000);
      await appendRange(store, id, 'a', 1, 3);
      const base = `bitnet:stream:${id}`;
      expect(JSON.parse((await admin.get(`${base}:request`))!)).toEqual(sampleRequest());
      expect(await admin.get(`${base}:lease`)).toBe('a');
      const entries = await admin.xrange(`${base}:events`, '-', '+');
      expect(entries.map(([entryId]) => entryId)).toEqual(['0-1', '0-2', '0-3']);
      expect(entries[0][1]).toEqual(['event', 'token', 'data', JSON.stringify(ev(id, 1).data), 'owner', 'a']);
      for (const k of ['events', 'request']) {
        const ttl = await admin.pttl(`${base}:${k}`);
        expect(ttl).toBeGreaterThan(4 * 60_000);
        expect(ttl).toBeLessThanOrEqual(5 * 60_000);
      }
      const leaseTtl = await admin.pttl(`${base}:lease`);
      expect(leaseTtl).toBeGreaterThan(0);
      expect(leaseTtl).toBeLessThanOrEqual(5000);
    });

    it('shares streams between replicas: reads, waits, takeover and fencing', async () => {
      const r1 = await connect();
      const r2 = await connect();
      const id = await r1.create(sampleRequest(), 'r1', 10_000);
      await appendRange(r1, id, 'r1', 1, 2);
      expect(await r2.request(id)).toEqual(sampleRequest());
      expect((await r2.read(id, 0))?.map((e) => e.seq)).toEqual([1, 2]);
      setTimeout(() => void r1.append(id, ev(id, 3), 'r1'), 100);
      expect((await r2.wait(id, 2, 5000, never)).map((e) => e.seq)).toEqual([3]);
      expect(await r2.acquire(id, 'r2', 10_000)).toBe(false);
      // r1 dies (its lease is not renewed): released here to play the expiry quickly
      setTimeout(() => void admin.del(`bitnet:stream:${id}:lease`), 100);
      const t0 = Date.now();
      expect(await r2.wait(id, 3, 5000, never)).toEqual([]);
      expect(Date.now() - t0).toBeLessThan(1000);
      const wins = await Promise.all([r2.acquire(id, 'r2', 10_000), r1.acquire(id, 'r1b', 10_000), r2.acquire(id, 'r2b', 10_000)]);
      expect(wins.filter(Boolean)).toHaveLength(1);
      const winner = wins[0] ? { s: r2, o: 'r2' } : wins[1] ? { s: r1, o: 'r1b' } : { s: r2, o: 'r2b' };
      expect(await winner.s.append(id, ev(id, 4), winner.o)).toBe(true);
      expect(await r1.append(id, ev(id, 4), 'r1')).toBe(false); // the old owner is fenced
      expect(await r1.renew(id, 'r1', 10_000)).toBe('lost');
      expect((await r1.read(id, 0))?.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    });

    it('takes a stream back after another replica wrote more of it', async () => {
      const r1 = await connect();
      const r2 = await connect();
      const id = await r1.create(sampleRequest(), 'r1', 10_000);
      await appendRange(r1, id, 'r1', 1, 2);
      await r1.release(id, 'r1');
      expect(await r2.acquire(id, 'r2', 10_000)).toBe(true);
      await appendRange(r2, id, 'r2', 3, 4);
      await r2.release(id, 'r2');
      expect(await r1.acquire(id, 'r1', 10_000)).toBe(true);
      expect(await r1.append(id, ev(id, 5), 'r1')).toBe(true);
      expect((await r1.read(id, 0))?.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
      expect((await r2.read(id, 3))?.map((e) => e.seq)).toEqual([4, 5]);
    });

    it('notices an expired lease of another replica within ~100 ms', async () => {
      const r1 = await connect();
      const r2 = await connect();
      const id = await r1.create(sampleRequest(), 'r1', 300);
      const t0 = Date.now();
      expect(await r2.wait(id, 0, 5000, never)).toEqual([]);
      const ms = Date.now() - t0;
      expect(ms).toBeGreaterThanOrEqual(200);
      expect(ms).toBeLessThan(700);
      expect(await r2.acquire(id, 'r2', 10_000)).toBe(true);
    });

    it('works in memory when Redis is down at start, and writes the streams once it is up', async () => {
      const port = await freePort();
      const states: (string | undefined)[] = [];
      const store = await connect(`redis://127.0.0.1:${port}`, { onStateChange: (r) => states.push(r) });
      expect(store.degradedReason()).toMatch(/^redis unreachable \(.*ECONNREFUSED.*\); streams are kept in this replica only$/);
      const id = await store.create(sampleRequest(), 'a', 10_000);
      await appendRange(store, id, 'a', 1, 3);
      expect((await store.read(id, 1))?.map((e) => e.seq)).toEqual([2, 3]);
      expect(await store.request(id)).toEqual(sampleRequest());
      expect(await store.read('unknownStream1', 0)).toBeUndefined();
      expect(await store.request('unknownStream1')).toBeUndefined();
      setTimeout(() => void store.append(id, ev(id, 4), 'a'), 100);
      expect((await store.wait(id, 3, 5000, never)).map((e) => e.seq)).toEqual([4]);
      expect(await store.renew(id, 'a', 10_000)).toBe('unknown');
      await store.release(id, 'a');
      expect(await store.acquire(id, 'b', 10_000)).toBe(true);
      expect(await store.append(id, ev(id, 5), 'b')).toBe(true);
      const t0 = Date.now();
      expect(await store.wait('unknownStream1', 0, 200, never)).toEqual([]);
      expect(Date.now() - t0).toBeLessThan(1500);

      const late = await startRedisOn(port);
      try {
        expect(await eventually(() => store.degradedReason() === undefined)).toBe(true);
        const seqs = async (): Promise<string[]> => (await late.admin.xrange(`bitnet:stream:${id}:events`, '-', '+')).map(([e]) => e);
        expect(await eventually(async () => (await seqs()).length === 5)).toBe(true);
        expect(await seqs()).toEqual(['0-1', '0-2', '0-3', '0-4', '0-5']);
        expect(JSON.parse((await late.admin.get(`bitnet:stream:${id}:request`))!)).toEqual(sampleRequest());
        expect(states[0]).toMatch(/redis unreachable/);
        expect(states[states.length - 1]).toBeUndefined();
      } finally {
        await store.close();
        late.admin.disconnect();
        await late.redis.stop();
      }
    });

    it('survives Redis stopping mid-stream, and writes the events it missed after the restart', async () => {
      const store = await connect();
      const other = await connect();
      const id = await store.create(sampleRequest(), 'a', 10_000);
      await appendRange(store, id, 'a', 1, 3);
      await redis.kill();
      try {
        expect(await eventually(() => store.degradedReason() !== undefined)).toBe(true);
        expect(store.degradedReason()).toMatch(/redis unreachable/);
        await appendRange(store, id, 'a', 4, 6);
        expect(await store.append(id, ev(id, 7, true), 'a')).toBe(true);
        expect((await store.read(id, 2))?.map((e) => e.seq)).toEqual([3, 4, 5, 6, 7]);
        expect(await store.renew(id, 'a', 10_000)).toBe('unknown');
        expect(await other.read(id, 0)).toBeUndefined(); // not its stream
      } finally {
        await redis.start(); // empty: nothing is persisted
      }
      expect(await eventually(() => store.degradedReason() === undefined)).toBe(true);
      const seqs = async (): Promise<string[]> => (await admin.xrange(`bitnet:stream:${id}:events`, '-', '+')).map(([e]) => e);
      expect(await eventually(async () => (await seqs().catch(() => [])).length === 7)).toBe(true);
      expect(await seqs()).toEqual(['0-1', '0-2', '0-3', '0-4', '0-5', '0-6', '0-7']);
      expect(await eventually(() => other.degradedReason() === undefined)).toBe(true);
      expect(await other.read(id, 0)).toEqual([1, 2, 3, 4, 5, 6].map((s) => ev(id, s)).concat(ev(id, 7, true)));
      expect(await admin.pttl(`bitnet:stream:${id}:events`)).toBeGreaterThan(0);
    });

    it('writes its streams again when Redis restarts empty, even without new events', async () => {
      const states: (string | undefined)[] = [];
      const store = await connect(redis.url, { onStateChange: (r) => states.push(r) });
      const id = await store.create(sampleRequest(), 'a', 10_000);
      await appendRange(store, id, 'a', 1, 2);
      expect(await store.append(id, ev(id, 3, true), 'a')).toBe(true);
      await store.release(id, 'a'); // finished: no more writes
      expect(states).toEqual([]); // no state change on the first connection
      await redis.restart();
      expect(await eventually(() => states.length >= 2 && store.degradedReason() === undefined)).toBe(true);
      expect(states[0]).toMatch(/^redis unreachable/);
      expect(states[states.length - 1]).toBeUndefined();
      const seqs = async (): Promise<string[]> => (await admin.xrange(`bitnet:stream:${id}:events`, '-', '+').catch(() => [])).map(([e]) => e);
      expect(await eventually(async () => (await seqs()).length === 3)).toBe(true);
      expect(await seqs()).toEqual(['0-1', '0-2', '0-3']);
      expect(JSON.parse((await admin.get(`bitnet:stream:${id}:request`))!)).toEqual(sampleRequest());
      expect(await admin.get(`bitnet:stream:${id}:lease`)).toBeNull(); // it stays suspended/finished
    });
  });
});

/** A second Redis on a given port (for the "down at start" case). */
async function startRedisOn(port: number): Promise<{ redis: TestRedis; admin: Redis }> {
  // startRedis picks its own free port; this one must listen on `port`: start it through the harness's start()
  const redis = await startRedis({ port });
  return { redis, admin: new Redis(redis.url, { maxRetriesPerRequest: 1 }) };
}
