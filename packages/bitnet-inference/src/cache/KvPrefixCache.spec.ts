/**
 * The prompt cache's memory: sequences' caches are paged out of one arena, cached prefixes are read
 * in place (the same block ids, nothing copied), a partly matching block is copied before anyone
 * writes to it, and admission fails — the sequence waits — only while running sequences hold the
 * blocks. The engine-level results (identical ids and logprobs) are in PromptCache.spec.ts.
 */
import { keyIndex, valueIndex } from '@bitnet/kernels';
import type { ModelConfig } from '@bitnet/models';
import type { KvCache } from '../model/KvCache';
import { KvPrefixCache, promptCacheLayout } from './KvPrefixCache';

const B = 32;
const config = { blockCount: 2, headCountKv: 2, headDim: 4, contextLength: 128 } as ModelConfig;
const blockBytes = promptCacheLayout(config, 1, B).blockBytes;

/** Writes a recognisable value for (position, id) at every element of position p of `cache` (keys and values, every layer). */
function fill(cache: KvCache, from: number, to: number, ids: readonly number[]): void {
  for (let p = from; p < to; p++) forEachElement(cache, p, (arr, i) => (arr[i] = (ids[p] * 7 + p) & 0xffff));
  cache.length = to;
}

/** Calls f on every key and value element of position p of `cache`, in every layer (the kernels' paged layout). */
function forEachElement(cache: KvCache, p: number, f: (arr: Uint16Array, i: number) => void): void {
  const layout = { kvHeads: config.headCountKv, headDim: config.headDim, capacity: cache.capacity, blocks: cache.blocks, blockTokens: cache.blockTokens };
  for (let l = 0; l < config.blockCount; l++)
    for (let h = 0; h < config.headCountKv; h++)
      for (let d = 0; d < config.headDim; d++) {
        f(cache.keys[l], keyIndex(layout, h, p, d));
        f(cache.values[l], valueIndex(layout, h, p, d));
      }
}

/** Whether position p of `cache` holds what fill() writes for ids[p]. */
function holds(cache: KvCache, p: number, ids: readonly number[]): boolean {
  let ok = true;
  forEachElement(cache, p, (arr, i) => (ok &&= arr[i] === ((ids[p] * 7 + p) & 0xffff)));
  return ok;
}

const seqIds = (n: number, seed: number) => Array.from({ length: n }, (_, i) => 1000 + ((i * 31 + seed * 977) % 5000));

describe('KvPrefixCache', () => {
  it('shares a cached prefix in place: the same blocks, no copy, and the shared positions hold what the first sequence computed', () => {
    const store = new KvPrefixCache(config, { bytes: 16 * blockBytes, blockTokens: B });
    const ids = seqIds(100, 1);
    const a = store.open(ids, 110)!;
    expect(a.cachedTokens).toBe(0);
    fill(a.cache, 0, 100, ids);
    store.save(a.cache, ids);
    expect(store.stats.usedBlocks).toBe(4); // ceil(110 / 32)
    const b = store.open([...ids.slice(0, 70), 9, 9, 9], 80)!; // shares [0, 64) — blocks 0 and 1 — and 6 positions of block 2
    expect(Array.from(b.cache.blocks!.subarray(0, 2))).toEqual(Array.from(a.cache.blocks!.subarray(0, 2)));
    expect(b.cache.blocks![2]).not.toBe(a.cache.blocks![2]); // partly matching: copied, never written in place
    expect(b.cachedTokens).toBe(70);
    expect(b.cache.length).toBe(70);
    for (let p = 0; p < 70; p++) expect(holds(b.cache, p, ids)).toBe(true);
    // b writes its own positions 70.. in its copy: a's block 2 is untouched
    const bIds = [...ids.slice(0, 70), 9, 9, 9];
    fill(b.cache, 70, 73, bIds);
    for (let p = 64; p < 100; p++) expect(holds(a.cache, p, ids)).toBe(true);
    expect(store.stats.usedBlocks).toBe(4 + 1); // b holds blocks 0, 1 (shared) and one of its own (80 positions: 3 blocks)
    expect(store.stats.reusedTokens).toBe(70);
    store.close(a.cache);
    store.close(b.cache);
    expect(store.stats.usedBlocks).toBe(0);
    expect(store.stats.cachedBlocks).toBe(3); // a's whole blocks [0, 96) stay cached
  });

  it('a prompt that is a prefix of a cached one ending on a block boundary shares whole blocks and computes at least its last id', () => {
    const store = new KvPrefixCache(config, { bytes: 16 * blockBytes, blockTokens: B });
    const ids = seqIds(96, 2);
    const a = store.open(ids, 96)!;
    fill(a.cache, 0, 96, ids);
    store.save(a.cache, ids);
    store.close(a.cache);
    const b = store.open(ids.slice(0, 64), 70)!;
    expect(b.cachedTokens).toBe(63); // block 1 copied for its first 31 positions; position 63 is computed
    expect(b.cache.blocks![0]).toBe(a.cache.blocks![0]);
    store.close(b.cache);
    const c = store.open(ids.slice(0, 65), 70)!;
    expect(c.cachedTokens).toBe(64);
    expect(Array.from(c.cache.blocks!.subarray(0, 2))).toEqual(Array.from(a.cache.blocks!.subarray(0, 2)));
    store.close(c.cache);
  });

  it('admits a sequence only when its blocks can be had: cached blocks nobody holds are evicted, held ones never', () => {
    // the minimum: one whole context (128 positions = 4 blocks), asked for less
    const store = new KvPrefixCache(config, { bytes: 1, blockTokens: B });
    expect(store.stats.limitBytes).toBe(4 * blockBytes);
    expect(store.fits(128)).toBe(true);
    expect(store.fits(129)).toBe(false);
    const ids = seqIds(64, 3);
    const a = store.open(ids, 64)!; // 2 blocks
    fill(a.cache, 0, 64, ids);
    store.save(a.cache, ids);
    const b = store.open(seqIds(40, 4), 64)!; // 2 more: the pool is full
    expect(store.open(seqIds(10, 5), 10)).toBeUndefined(); // waits: every block is held
    expect(store.stats.usedBlocks).toBe(4);
    store.close(b.cache);
    // a still runs: its indexed blocks are held, so the new sequence takes b's freed blocks only
    const c = store.open(seqIds(50, 6), 64)!;
    expect(c).toBeDefined();
    for (let p = 0; p < 64; p++) expect(holds(a.cache, p, ids)).toBe(true);
    store.close(c.cache);
    store.close(a.cache);
    expect(store.stats.cachedBlocks).toBe(2); // a's blocks stay cached once nobody holds them
    // a whole-context sequence now evicts them
    const d = store.open(seqIds(100, 7), 128)!;
    expect(d.cachedTokens).toBe(0);
    expect(store.stats.evictedBlocks).toBe(2);
    expect(store.stats.bytes).toBeLessThanOrEqual(store.stats.limitBytes);
    store.close(d.cache);
  });

  it('a sequence that ends before a block is full leaves that block free, not cached', () => {
    const store = new KvPrefixCache(config, { bytes: 16 * blockBytes, blockTokens: B });
    const ids = seqIds(50, 8);
    const a = store.open(ids, 60)!;
    fill(a.cache, 0, 40, ids); // a cancelled prefill: positions [32, 40) of block 1 only
    store.save(a.cache, ids);
    store.close(a.cache);
    expect(store.stats.cachedBlocks).toBe(1);
    const b = store.open(ids, 60)!;
    expect(b.cachedTokens).toBe(32);
    store.close(b.cache);
  });

  it('rejects block sizes the paged kernels cannot take', () => {
    expect(() => new KvPrefixCache(config, { bytes: blockBytes, blockTokens: 48 })).toThrow(RangeError);
    expect(() => new KvPrefixCache(config, { bytes: -1 })).toThrow(RangeError);
    expect(new KvPrefixCache(config, { bytes: 0 }).enabled).toBe(false);
  });
});
