import { MemoryStreamStore } from './MemoryStreamStore';
import { appendRange, describeStreamStore, ev, sampleRequest } from '../testing/streamStoreBehaviour';

describeStreamStore('memory', async (limits) => new MemoryStreamStore(limits));

describe('MemoryStreamStore limits', () => {
  /** A store on a clock the test moves. */
  function clocked(options: { maxStreams?: number; ttlMs?: number } = {}): { store: MemoryStreamStore; tick(ms: number): void } {
    let t = 1_000_000;
    const store = new MemoryStreamStore({ ...options, now: () => t });
    return { store, tick: (ms) => (t += ms) };
  }

  it('is a non-shared memory store that is never degraded', () => {
    const store = new MemoryStreamStore();
    expect(store.kind).toBe('memory');
    expect(store.shared).toBe(false);
    expect(store.degradedReason()).toBeUndefined();
  });

  it('keeps a finished stream ttlMs, a stream with a live lease as long as it is renewed', async () => {
    const { store, tick } = clocked({ ttlMs: 60_000 });
    const done = await store.create(sampleRequest(), 'a', 1000);
    await appendRange(store, done, 'a', 1, 1);
    expect(await store.append(done, ev(done, 2, true), 'a')).toBe(true);
    await store.release(done, 'a');
    const live = await store.create(sampleRequest(), 'a', 30_000);
    for (let i = 0; i < 5; i++) {
      tick(20_000);
      expect(await store.renew(live, 'a', 30_000)).toBe('held');
    }
    expect(await store.read(done, 0)).toBeUndefined(); // 100 s after its end
    expect(await store.request(done)).toBeUndefined();
    expect(await store.read(live, 0)).toEqual([]);
    tick(29_000);
    expect(await store.request(live)).toBeDefined(); // lease still live
    tick(62_000);
    expect(await store.request(live)).toBeUndefined(); // lease expired 61 s ago
  });

  it('evicts the oldest streams without a live lease beyond maxStreams, never a leased one', async () => {
    const { store } = clocked({ maxStreams: 3 });
    const a = await store.create(sampleRequest(), 'o', 60_000); // leased
    const b = await store.create(sampleRequest(), 'o', 60_000);
    await store.release(b, 'o'); // suspended
    const c = await store.create(sampleRequest(), 'o', 60_000);
    await store.release(c, 'o');
    const d = await store.create(sampleRequest(), 'o', 60_000); // b out (oldest without lease)
    expect(await store.request(a)).toBeDefined();
    expect(await store.request(b)).toBeUndefined();
    expect(await store.request(c)).toBeDefined();
    const e = await store.create(sampleRequest(), 'o', 60_000); // c out
    expect(await store.request(c)).toBeUndefined();
    const f = await store.create(sampleRequest(), 'o', 60_000); // all leased: the bound is exceeded
    for (const id of [a, d, e, f]) expect(await store.request(id)).toBeDefined();
  });

  it('wakes waiters on close', async () => {
    const store = new MemoryStreamStore();
    const id = await store.create(sampleRequest(), 'a', 60_000);
    const waiting = store.wait(id, 0, 60_000, new AbortController().signal);
    await store.close();
    await expect(waiting).resolves.toEqual([]);
  });
});
