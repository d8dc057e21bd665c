/**
 * The KV memory of the model thread when the prompt cache is on: one arena of fixed-size blocks of
 * positions (KvBlockPool's bookkeeping) from which every sequence's cache is paged, and whose filled
 * blocks stay indexed by the ids they hold, so a later sequence whose ids start the same way — a
 * chat's next turn, clients sharing a system prompt — reads those blocks in place instead of
 * computing them again.
 *
 * - A sequence gets its blocks when it is admitted (`open`): the longest cached prefix, shared (the
 *   kernels follow the sequence's block table; nothing is copied), then fresh blocks for the rest of its
 *   positions. When the prefix ends inside a cached block, that block is copied into the sequence's
 *   first fresh block (copy on write: others may be reading it) and its matching positions reused.
 *   When too few blocks are free or evictable, `open` says so and the sequence waits.
 * - After each pass `save` enters the blocks a pass has completely filled into the index; a cancelled
 *   or failed pass never leaves a half-written block indexed.
 * - `close` gives a finished sequence's blocks back: indexed ones stay cached (least recently used
 *   first out), the others are free at once. Blocks a sequence holds are never evicted.
 *
 * Results do not depend on any of this: a position's keys and values do not depend on how the ids
 * before it were chunked (forward/ChunkInvariance.spec.ts), and attention over a block table computes
 * exactly what it computes over one contiguous cache (@bitnet/kernels `KvShape.blocks`).
 */
import type { PageMemory } from '@bitnet/kernels';
import type { ModelConfig } from '@bitnet/models';
import { KvCache } from '../model/KvCache';
import { KvBlockPool } from './KvBlockPool';

/** Settings of a {@link KvPrefixCache}. */
export interface KvPrefixCacheOptions {
  /**
   * Bytes of block storage (keys and values of every layer; whole blocks only), running sequences'
   * positions included. Raised to one whole context when smaller, so any request can be admitted.
   */
  readonly bytes: number;
  /** Positions per block (default 64). */
  readonly blockTokens?: number;
  /**
   * Where the arena's memory comes from (default: plain zero-filled buffers). The engine passes its
   * PageMemory, whose pages cost memory only once a block is first written.
   */
  readonly memory?: PageMemory;
}

/** Counters of a prompt cache (for /metrics and /health). */
export interface PromptCacheStats {
  /** Bytes the limit allows (blocks × bytes per block). */
  limitBytes: number;
  /** Bytes of block storage touched so far (the arena's pages are committed as blocks are first used). */
  bytes: number;
  blockTokens: number;
  /** Blocks holding a cached prefix that no running sequence holds (evictable). */
  cachedBlocks: number;
  /** Blocks running sequences hold (their own positions and the cached prefixes they read). */
  usedBlocks: number;
  /** Prompt positions restored from the cache so far. */
  reusedTokens: number;
  /** Blocks taken out of the cache to make room so far. */
  evictedBlocks: number;
}

/** Positions per block of the prompt cache unless KvPrefixCacheOptions.blockTokens says otherwise. */
export const PROMPT_CACHE_BLOCK_TOKENS = 64;

/**
 * A prompt cache's block size for a model and the blocks a limit of `bytes` gives: whole blocks, and
 * never fewer than one whole context's (0 bytes: none, the cache is off).
 */
export function promptCacheLayout(config: ModelConfig, bytes: number, blockTokens = PROMPT_CACHE_BLOCK_TOKENS): { blockTokens: number; blockBytes: number; blocks: number; limitBytes: number } {
  // keys and values (2) of every layer, f16 (2 bytes) per element
  const blockBytes = config.blockCount * 2 * config.headCountKv * blockTokens * config.headDim * 2;
  const blocks = bytes > 0 ? Math.max(Math.floor(bytes / blockBytes), Math.ceil(config.contextLength / blockTokens)) : 0;
  return { blockTokens, blockBytes, blocks, limitBytes: blocks * blockBytes };
}

/** How far `save` has entered a sequence's blocks (its cache's block table) into the index. */
interface SequenceBlocks {
  /** Blocks entered (or found already) in the index so far. */
  saved: number;
  /** The index's block for the prefix up to the last saved one. */
  parent: number | undefined;
  /** The chain broke (a block could not be indexed): later blocks of this sequence are not saved. */
  broken: boolean;
}

/** See the module comment. */
export class KvPrefixCache {
  readonly blockTokens: number;
  readonly blockBytes: number;
  private readonly pool: KvBlockPool | undefined;
  /** Per layer: the arena's keys and values, [block][kvHead][B][D] and [block][kvHead][D][B]. */
  private readonly keys: Uint16Array[] = [];
  private readonly values: Uint16Array[] = [];
  /** Elements of one block of one layer's keys (= its values'). */
  private readonly blockElements: number;
  private readonly sequences = new WeakMap<KvCache, SequenceBlocks>();
  /** Blocks [0, touched) have been handed out at least once (the pool reuses the lowest ids first). */
  private touched = 0;
  private reused = 0;

  constructor(
    private readonly config: ModelConfig,
    options: KvPrefixCacheOptions,
  ) {
    const B = options.blockTokens ?? PROMPT_CACHE_BLOCK_TOKENS;
    if (!Number.isInteger(B) || B < 32 || B % 32 !== 0) throw new RangeError(`blockTokens must be a positive multiple of 32, got ${B}`);
    if (!(options.bytes >= 0)) throw new RangeError(`the prompt cache size must be ≥ 0 bytes, got ${options.bytes}`);
    const { blockBytes, blocks } = promptCacheLayout(config, options.bytes, B);
    this.blockTokens = B;
    this.blockBytes = blockBytes;
    this.blockElements = config.headCountKv * B * config.headDim;
    this.pool = blocks > 0 ? new KvBlockPool({ blockTokens: B, blocks }) : undefined;
    // the arena, zero-filled: per layer one buffer of keys then values
    const perLayer = blocks * this.blockElements;
    if (blocks > 0)
      for (let l = 0; l < config.blockCount; l++) {
        const buffer = options.memory?.allocate(2 * perLayer * 2) ?? new ArrayBuffer(2 * perLayer * 2);
        this.keys.push(new Uint16Array(buffer, 0, perLayer));
        this.values.push(new Uint16Array(buffer, perLayer * 2, perLayer));
      }
  }

  /** Whether the cache is on. */
  get enabled(): boolean {
    return this.pool !== undefined;
  }

  get stats(): PromptCacheStats {
    const s = this.pool?.stats;
    return {
      limitBytes: (this.pool?.blocks ?? 0) * this.blockBytes,
      bytes: this.touched * this.blockBytes,
      blockTokens: this.blockTokens,
      cachedBlocks: s?.cached ?? 0,
      usedBlocks: s?.inUse ?? 0,
      reusedTokens: this.reused,
      evictedBlocks: s?.evicted ?? 0,
    };
  }

  /** Whether a sequence of `capacity` positions can ever be admitted (the pool holds its blocks). */
  fits(capacity: number): boolean {
    return this.pool !== undefined && Math.ceil(capacity / this.blockTokens) <= this.pool.blocks;
  }

  /**
   * A paged cache of `capacity` positions for a sequence whose first ids are `ids`, holding the
   * longest cached prefix of them (never all of them), and how many positions that is; undefined
   * when the blocks it needs are not to be had now (every other block is held by running sequences).
   */
  open(ids: readonly number[], capacity: number): { cache: KvCache; cachedTokens: number } | undefined {
    const pool = this.pool;
    if (!pool) throw new Error('the prompt cache is off');
    const B = this.blockTokens;
    const need = Math.ceil(capacity / B);
    const m = pool.match(ids, Math.min(ids.length - 1, capacity), true);
    const fresh = pool.allocateMany(need - m.blocks.length);
    if (!fresh) {
      pool.release(m.partial ? [...m.blocks, m.partial.block] : m.blocks);
      return undefined;
    }
    let length = m.tokens;
    if (m.partial) {
      this.copyBlock(m.partial.block, fresh[0]);
      length += m.partial.tokens;
      pool.release([m.partial.block]);
    }
    for (const b of fresh) this.touched = Math.max(this.touched, b + 1);
    const cache = new KvCache(this.config, capacity, { keys: this.keys, values: this.values, blocks: Int32Array.from([...m.blocks, ...fresh]), blockTokens: B });
    cache.length = length;
    this.sequences.set(cache, { saved: m.blocks.length, parent: m.blocks[m.blocks.length - 1], broken: false });
    this.reused += length;
    return { cache, cachedTokens: length };
  }

  /**
   * Enters the blocks of `cache` that passes have completely filled since the last call into the
   * index: `ids` are the ids of its positions (at least cache.length of them).
   */
  save(cache: KvCache, ids: readonly number[]): void {
    const pool = this.pool;
    const st = this.sequences.get(cache);
    if (!pool || !st) return;
    const B = this.blockTokens;
    const full = Math.min(Math.floor(cache.length / B), Math.floor(ids.length / B));
    while (!st.broken && st.saved < full) {
      const j = st.saved;
      // an equal block may already stand for this prefix (computed by another sequence meanwhile):
      // the chain goes on from that one, and this sequence keeps reading its own
      const kept = pool.commit((cache.blocks as Int32Array)[j], ids, j * B, st.parent);
      if (!pool.isCached(kept)) st.broken = true;
      st.parent = kept;
      st.saved++;
    }
  }

  /** Gives back the blocks of a sequence that is over (what `save` entered stays cached). */
  close(cache: KvCache): void {
    const st = this.sequences.get(cache);
    if (!st || !this.pool) return;
    this.sequences.delete(cache);
    this.pool.release(Array.from(cache.blocks as Int32Array));
  }

  /** Copies block `from` to block `to` in every layer (keys and values are each one run per block). */
  private copyBlock(from: number, to: number): void {
    const n = this.blockElements;
    for (let l = 0; l < this.config.blockCount; l++) {
      this.keys[l].copyWithin(to * n, from * n, (from + 1) * n);
      this.values[l].copyWithin(to * n, from * n, (from + 1) * n);
    }
  }
}
