/**
 * The prompt cache's block bookkeeping alone (no model): sequences are simulated the way the engine
 * will drive the pool — match the prompt, allocate blocks for the rest, commit each block once a
 * forward pass has filled it, release everything at the end.
 */
import { KvBlockPool } from './KvBlockPool';

const B = 4;

/** A simulated sequence: shares what the pool has, allocates the rest, commits its full blocks. */
function runSequence(pool: KvBlockPool, ids: number[], opts: { commitUpTo?: number; keep?: boolean } = {}) {
  const m = pool.match(ids);
  const blocks = [...m.blocks];
  const need = Math.ceil(ids.length / B) - blocks.length;
  for (let i = 0; i < need; i++) {
    const b = pool.allocate();
    if (b === undefined) {
      pool.release(blocks);
      return undefined;
    }
    blocks.push(b);
  }
  // a block is committed once "computed": all of it, or up to commitUpTo positions (a cancelled prefill)
  const done = opts.commitUpTo ?? ids.length;
  for (let j = m.blocks.length; (j + 1) * B <= done; j++) pool.commit(blocks[j], ids, j * B, j > 0 ? blocks[j - 1] : undefined);
  if (!opts.keep) pool.release(blocks);
  return { reused: m.tokens, blocks };
}

const seqIds = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (seed * 7919 + i * 31) % 1000);

function checkInvariants(pool: KvBlockPool): void {
  const s = pool.stats;
  expect(s.inUse + s.cached + s.free).toBe(pool.blocks);
  expect(s.inUse).toBeGreaterThanOrEqual(0);
}

describe('KvBlockPool', () => {
  it('shares the longest cached prefix in whole blocks, and leaves at least one id to compute', () => {
    const pool = new KvBlockPool({ blockTokens: B, blocks: 16 });
    const system = seqIds(10, 1); // 2 whole blocks + 2
    expect(runSequence(pool, system)!.reused).toBe(0);
    // same system prompt, then a different user turn: the 2 whole blocks are shared
    expect(runSequence(pool, [...system, 5, 6, 7])!.reused).toBe(8);
    // diverging inside the second block: only the first block matches
    const diverged = [...system.slice(0, 6), 999, ...system.slice(7)];
    expect(runSequence(pool, diverged)!.reused).toBe(4);
    // a prompt that is a prefix of a cached one: its whole blocks, but never all of its ids
    expect(runSequence(pool, system.slice(0, 8))!.reused).toBe(4);
    expect(pool.match(system.slice(0, 9)).tokens).toBe(8);
    checkInvariants(pool);
  });

  it('holds shared blocks for every sequence using them; released indexed blocks stay cached', () => {
    const pool = new KvBlockPool({ blockTokens: B, blocks: 8 });
    const ids = seqIds(9, 2);
    const a = runSequence(pool, ids, { keep: true })!;
    const b = runSequence(pool, [...ids.slice(0, 8), 42, 43], { keep: true })!;
    expect(b.blocks.slice(0, 2)).toEqual(a.blocks.slice(0, 2));
    expect(pool.refCount(a.blocks[0])).toBe(2);
    pool.release(a.blocks);
    expect(pool.refCount(a.blocks[0])).toBe(1);
    expect(pool.refCount(a.blocks[2])).toBe(0);
    expect(pool.isCached(a.blocks[2])).toBe(false); // a partial last block is never indexed: freed
    pool.release(b.blocks);
    expect(pool.isCached(a.blocks[0])).toBe(true);
    expect(pool.stats).toMatchObject({ inUse: 0, cached: 2 });
    checkInvariants(pool);
  });

  it('evicts only blocks nobody holds, least recently used first, and refuses when every block is held', () => {
    const pool = new KvBlockPool({ blockTokens: B, blocks: 4 });
    const running = runSequence(pool, seqIds(8, 3), { keep: true })!; // 2 blocks held throughout
    const old = seqIds(8, 4);
    runSequence(pool, old); // 2 blocks cached
    expect(pool.stats).toMatchObject({ inUse: 2, cached: 2, free: 0 });
    const fresh = pool.allocate() as number;
    expect(fresh).toBeDefined();
    expect(running.blocks).not.toContain(fresh);
    expect(pool.allocate()).toBeDefined();
    expect(pool.allocate()).toBeUndefined(); // all 4 held now
    for (const b of running.blocks) expect(pool.refCount(b)).toBe(1);
    expect(pool.match(old).tokens).toBe(0); // its blocks were taken back
    expect(pool.stats.evicted).toBe(2);
  });

  it('never matches through an evicted parent whose id was reused', () => {
    const pool = new KvBlockPool({ blockTokens: B, blocks: 3 });
    const first = seqIds(12, 5);
    runSequence(pool, first); // 3 blocks, chain p0 → p1 → p2, all cached
    // a new prompt needs 3 blocks: the least recently used cached ones are evicted and reused
    const other = seqIds(12, 6);
    expect(runSequence(pool, other)!.reused).toBe(0);
    // nothing of the first chain may match now, even where a block id was reused under a new prefix
    expect(pool.match(first).tokens).toBe(0);
    const again = pool.match([...other, 1]);
    expect(again.tokens).toBe(12);
    pool.release(again.blocks);
    checkInvariants(pool);
  });

  it('evicting a parent takes its descendants out of the index too', () => {
    const pool = new KvBlockPool({ blockTokens: B, blocks: 3 });
    const ids = seqIds(9, 11);
    const p0 = pool.allocate()!;
    const p1 = pool.allocate()!;
    pool.commit(p0, ids, 0);
    pool.commit(p1, ids, 4, p0);
    pool.release([p0]); // released apart, parent first: the parent is the older one in the eviction order
    pool.release([p1]);
    expect(pool.allocate()).toBeDefined(); // the last free block
    expect(pool.allocate()).toBeDefined(); // evicts p0, and with it p1
    expect(pool.isCached(p1)).toBe(false);
    expect(pool.stats).toMatchObject({ cached: 0, free: 1, evicted: 2 });
    expect(pool.match(ids).tokens).toBe(0);
  });

  it('a cancelled prefill leaves only the blocks that were completely computed', () => {
    const pool = new KvBlockPool({ blockTokens: B, blocks: 8 });
    const ids = seqIds(14, 7);
    runSequence(pool, ids, { commitUpTo: 6 }); // cancelled after 6 of 14 positions: one whole block
    expect(pool.stats.cached).toBe(1);
    expect(pool.match(ids).tokens).toBe(4);
  });

  it('commit returns the block already standing for the same prefix', () => {
    const pool = new KvBlockPool({ blockTokens: B, blocks: 8 });
    const ids = seqIds(8, 8);
    const a = [pool.allocate()!, pool.allocate()!];
    const b = [pool.allocate()!, pool.allocate()!];
    expect(pool.commit(a[0], ids, 0)).toBe(a[0]);
    expect(pool.commit(b[0], ids, 0)).toBe(a[0]); // computed twice concurrently: the first one stands
    expect(pool.commit(a[1], ids, 4, a[0])).toBe(a[1]);
    expect(pool.commit(b[1], ids, 4, b[0])).toBe(b[1]); // b[0] is not indexed: nothing to chain to
    expect(pool.isCached(b[1])).toBe(false);
    expect(() => pool.commit(a[1], ids, 6)).toThrow(RangeError);
    pool.release([...a, ...b]);
    expect(pool.stats).toMatchObject({ cached: 2, free: 6 });
  });

  it('churns 200 distinct prompts through a small pool without exceeding it or touching held blocks', () => {
    const pool = new KvBlockPool({ blockTokens: B, blocks: 24 });
    const system = seqIds(8, 9);
    const longRunning = runSequence(pool, [...system, ...seqIds(9, 10)], { keep: true })!;
    let reused = 0;
    let refused = 0;
    for (let i = 0; i < 200; i++) {
      const ids = i % 3 === 0 ? [...system, ...seqIds(5 + (i % 11), 100 + i)] : seqIds(3 + (i % 17), 200 + (i % 40));
      const r = runSequence(pool, ids);
      if (r === undefined) refused++;
      else reused += r.reused;
      checkInvariants(pool);
      for (const b of longRunning.blocks) expect(pool.refCount(b)).toBe(1);
    }
    expect(refused).toBe(0);
    expect(reused).toBeGreaterThan(0); // the shared system prompt and the repeated prompts were found again
    expect(pool.stats.inUse).toBe(longRunning.blocks.length);
    expect(pool.stats.evicted).toBeGreaterThan(0);
    pool.release(longRunning.blocks);
    checkInvariants(pool);
  });

  it('a partial match: the indexed block after the whole ones sharing the most leading ids, held by the caller', () => {
    const pool = new KvBlockPool({ blockTokens: B, blocks: 8 });
    const a = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    runSequence(pool, a); // blocks [1..4] and [5..8] indexed
    runSequence(pool, [1, 2, 3, 4, 5, 6, 70, 80, 90]); // [5, 6, 70, 80] is another child of [1..4]
    // diverges at the 8th id: one whole block, then 3 ids of [5..8] (the other child shares only 2)
    const m = pool.match([1, 2, 3, 4, 5, 6, 7, 0, 0, 0], 9, true);
    expect(m.tokens).toBe(4);
    expect(m.partial?.tokens).toBe(3);
    expect(pool.refCount(m.partial!.block)).toBe(1); // held for the copy
    pool.release([...m.blocks, m.partial!.block]);
    // a root can match partly too, and never the whole limit
    const r = pool.match([1, 2, 9, 9], 3, true);
    expect(r.blocks).toEqual([]);
    expect(r.partial?.tokens).toBe(2);
    pool.release([r.partial!.block]);
    expect(pool.match([1, 2, 3, 4, 5], 4, true).partial).toBeUndefined(); // no room left after the whole block
    expect(pool.match([9, 9, 9, 9, 9], 4, true).partial).toBeUndefined(); // nothing shares the first id
    expect(pool.match([1, 2, 3], 2).partial).toBeUndefined(); // only when asked for
    checkInvariants(pool);
  });

  it('allocateMany takes all the blocks asked for or none, evicting cached ones nobody holds', () => {
    const pool = new KvBlockPool({ blockTokens: B, blocks: 4 });
    runSequence(pool, seqIds(8, 1)); // 2 cached blocks
    const held = pool.allocateMany(2)!;
    expect(held).toHaveLength(2);
    expect(pool.allocateMany(3)).toBeUndefined(); // only 2 cached blocks are left to take
    expect(pool.stats).toMatchObject({ inUse: 2, cached: 2, evicted: 0 });
    const more = pool.allocateMany(2)!;
    expect(pool.stats).toMatchObject({ inUse: 4, cached: 0, evicted: 2 });
    pool.release([...held, ...more]);
    checkInvariants(pool);
  });

  it('rejects bad sizes, unknown blocks and double releases', () => {
    expect(() => new KvBlockPool({ blockTokens: 0, blocks: 1 })).toThrow(RangeError);
    expect(() => new KvBlockPool({ blockTokens: 1, blocks: 1.5 })).toThrow(RangeError);
    const pool = new KvBlockPool({ blockTokens: B, blocks: 2 });
    expect(() => pool.refCount(2)).toThrow(RangeError);
    const b = pool.allocate()!;
    pool.release([b]);
    expect(() => pool.release([b])).toThrow(/not held/);
  });
});
