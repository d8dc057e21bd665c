/**
 * Test support: the behaviour every {@link StreamStore} must have, as a jest suite run against each
 * implementation (`describeStreamStore('memory', factory)`).
 */
import type { LoggedEvent, StoredRequest, StreamStore } from '../stream/StreamStore';
import { parseEventId } from '../stream/StreamStore';

/** Makes a fresh store (closed by the suite) with the given limits. */
export type StreamStoreFactory = (limits: { maxEventsPerStream?: number }) => Promise<StreamStore>;

/** A request as a stream stores it. */
export function sampleRequest(seed = 1): StoredRequest {
  return {
    promptIds: [1, 15043, 3186],
    generation: { maxTokens: 8, temperature: 0, seed } as unknown as StoredRequest['generation'],
    streaming: {} as StoredRequest['streaming'],
    detailedErrors: true,
    createdAt: 1_700_000_000_000,
  };
}

/** Event `seq` of stream `id` (a token, or `complete` when `last`). */
export function ev(id: string, seq: number, last = false): LoggedEvent {
  return last
    ? { id: `${id}:${seq}`, seq, event: 'complete', data: { finishReason: 'length', seq } }
    : { id: `${id}:${seq}`, seq, event: 'token', data: { tokenId: 100 + seq, text: `t${seq}` } };
}

/** Appends events from..to (all must be accepted). */
export async function appendRange(store: StreamStore, id: string, owner: string, from: number, to: number): Promise<void> {
  for (let seq = from; seq <= to; seq++) {
    if (!(await store.append(id, ev(id, seq), owner))) throw new Error(`append ${seq} refused`);
  }
}

/** Timed promise: its value and how long it took. */
async function timed<T>(p: Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  const value = await p;
  return { value, ms: Date.now() - t0 };
}

/** The shared behavioural suite of a StreamStore implementation. */
export function describeStreamStore(name: string, factory: StreamStoreFactory): void {
  describe(`StreamStore behaviour: ${name}`, () => {
    const open: StreamStore[] = [];
    const make = async (limits: { maxEventsPerStream?: number } = {}): Promise<StreamStore> => {
      const s = await factory(limits);
      open.push(s);
      return s;
    };
    const never = new AbortController().signal;
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });

    it('creates streams with ids of the Last-Event-ID form and keeps their request', async () => {
      const store = await make();
      const a = await store.create(sampleRequest(1), 'r1', 10_000);
      const b = await store.create(sampleRequest(2), 'r1', 10_000);
      expect(a).not.toBe(b);
      expect(parseEventId(`${a}:7`)).toEqual({ stream: a, seq: 7 });
      expect(await store.request(a)).toEqual(sampleRequest(1));
      expect(await store.request(b)).toEqual(sampleRequest(2));
      expect(await store.request('unknownStream1')).toBeUndefined();
      expect(await store.read('unknownStream1', 0)).toBeUndefined();
      expect(await store.read(a, 0)).toEqual([]);
    });

    it('appends in order and refuses repeated, skipped and foreign seqs', async () => {
      const store = await make();
      const id = await store.create(sampleRequest(), 'owner', 10_000);
      await appendRange(store, id, 'owner', 1, 3);
      expect(await store.append(id, ev(id, 3), 'owner')).toBe(false); // repeated
      expect(await store.append(id, ev(id, 2), 'owner')).toBe(false); // older
      expect(await store.append(id, ev(id, 5), 'owner')).toBe(false); // gap
      expect(await store.append(id, ev(id, 4), 'intruder')).toBe(false); // not the lease holder
      expect(await store.append(id, ev(id, 4, true), 'owner')).toBe(true);
      expect(await store.append(id, ev(id, 5), 'owner')).toBe(false); // after the end
      expect(await store.read(id, 0)).toEqual([ev(id, 1), ev(id, 2), ev(id, 3), ev(id, 4, true)]);
      expect(await store.read(id, 2)).toEqual([ev(id, 3), ev(id, 4, true)]);
      expect(await store.read(id, 4)).toEqual([]);
    });

    it('gives a free lease to exactly one of racing callers, and fences the previous owner', async () => {
      const store = await make();
      const id = await store.create(sampleRequest(), 'a', 10_000);
      await appendRange(store, id, 'a', 1, 2);
      expect(await store.acquire(id, 'b', 10_000)).toBe(false); // held by a
      expect(await store.renew(id, 'b', 10_000)).toBe('lost');
      expect(await store.renew(id, 'a', 10_000)).toBe('held');
      await store.release(id, 'b'); // not b's: no effect
      expect(await store.acquire(id, 'c', 10_000)).toBe(false);
      await store.release(id, 'a');
      const wins = await Promise.all(['b', 'c', 'd', 'e'].map((o) => store.acquire(id, o, 10_000)));
      expect(wins.filter(Boolean)).toHaveLength(1);
      const winner = ['b', 'c', 'd', 'e'][wins.indexOf(true)];
      expect(await store.append(id, ev(id, 3), 'a')).toBe(false);
      expect(await store.append(id, ev(id, 3), winner)).toBe(true);
      expect(await store.renew(id, 'a', 10_000)).toBe('lost');
      expect((await store.read(id, 0))?.map((e) => e.seq)).toEqual([1, 2, 3]);
      expect(await store.acquire('unknownStream1', 'x', 1000)).toBe(false);
    });

    it('lets a lease expire when it is not renewed', async () => {
      const store = await make();
      const id = await store.create(sampleRequest(), 'a', 300);
      expect(await store.acquire(id, 'b', 10_000)).toBe(false);
      await new Promise((r) => setTimeout(r, 450));
      expect(await store.acquire(id, 'b', 10_000)).toBe(true);
      expect(await store.append(id, ev(id, 1), 'a')).toBe(false);
    });

    it('returns undefined when reading a trimmed range', async () => {
      const store = await make({ maxEventsPerStream: 5 });
      const id = await store.create(sampleRequest(), 'a', 10_000);
      await appendRange(store, id, 'a', 1, 8);
      expect(await store.read(id, 0)).toBeUndefined();
      expect(await store.read(id, 2)).toBeUndefined();
      expect((await store.read(id, 3))?.map((e) => e.seq)).toEqual([4, 5, 6, 7, 8]);
      expect((await store.read(id, 6))?.map((e) => e.seq)).toEqual([7, 8]);
    });

    it('wait resolves with events at once when there are some, on the next append, and on timeout', async () => {
      const store = await make();
      const id = await store.create(sampleRequest(), 'a', 10_000);
      await appendRange(store, id, 'a', 1, 2);
      expect((await store.wait(id, 0, 5000, never)).map((e) => e.seq)).toEqual([1, 2]);
      setTimeout(() => void store.append(id, ev(id, 3), 'a'), 100);
      const woke = await timed(store.wait(id, 2, 5000, never));
      expect(woke.value.map((e) => e.seq)).toEqual([3]);
      expect(woke.ms).toBeLessThan(1000);
      const idle = await timed(store.wait(id, 3, 250, never));
      expect(idle.value).toEqual([]);
      expect(idle.ms).toBeGreaterThanOrEqual(200);
      expect(idle.ms).toBeLessThan(1500);
    });

    it('wait resolves with [] on release, on lease expiry and on abort', async () => {
      const store = await make();
      const id = await store.create(sampleRequest(), 'a', 10_000);
      setTimeout(() => void store.release(id, 'a'), 100);
      const released = await timed(store.wait(id, 0, 5000, never));
      expect(released.value).toEqual([]);
      expect(released.ms).toBeLessThan(1000);

      const id2 = await store.create(sampleRequest(), 'a', 300);
      const expired = await timed(store.wait(id2, 0, 5000, never));
      expect(expired.value).toEqual([]);
      expect(expired.ms).toBeGreaterThanOrEqual(200);
      expect(expired.ms).toBeLessThan(1200);

      const id3 = await store.create(sampleRequest(), 'a', 10_000);
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 100);
      const aborted = await timed(store.wait(id3, 0, 5000, ac.signal));
      expect(aborted.value).toEqual([]);
      expect(aborted.ms).toBeLessThan(1000);
    });
  });
}
