/**
 * The prompt cache of the model thread: keys and values of processed ids, kept in fixed-size blocks
 * (KvBlockPool's bookkeeping) so a later sequence whose ids start the same way restores them instead
 * of computing them again — a chat's next turn, or clients sharing a system prompt.
 *
 * This first version copies: a block's keys and values are copied out of a sequence's cache once a
 * pass has filled the block, and copied into a new sequence's cache when its prompt starts with the
 * block's prefix (block-table attention reading the blocks in place is the next step). The results
 * are the same either way: a position's keys and values do not depend on how the ids before it were
 * chunked (forward/ChunkInvariance.spec.ts), so restored positions hold exactly what a fresh prefill
 * would compute. Block storage is allocated when a block is first used, up to the byte limit.
 */
import type { ModelConfig } from '@bitnet/models';
import type { KvCache } from '../model/KvCache';
import { KvBlockPool } from './KvBlockPool';

/** Settings of a {@link KvPrefixCache}. */
export interface KvPrefixCacheOptions {
  /** Most bytes of block storage (keys and values of every layer); whole blocks only. */
  readonly bytes: number;
  /** Positions per block (default 64). */
  readonly blockTokens?: number;
}

/** Counters of a prompt cache (for /metrics and /health). */
export interface PromptCacheStats {
  /** Bytes the limit allows (blocks × bytes per block). */
  limitBytes: number;
  /** Bytes of block storage allocated so far. */
  bytes: number;
  blockTokens: number;
  /** Blocks holding a cached prefix. */
  cachedBlocks: number;
  /** Prompt positions restored from the cache so far. */
  reusedTokens: number;
  /** Blocks taken out of the cache to make room so far. */
  evictedBlocks: number;
}

/** Positions per block of the prompt cache unless KvPrefixCacheOptions.blockTokens says otherwise. */
export const PROMPT_CACHE_BLOCK_TOKENS = 64;

/** A prompt cache's block size for a model and the bytes a limit allows (whole blocks only). */
export function promptCacheLayout(config: ModelConfig, bytes: number, blockTokens = PROMPT_CACHE_BLOCK_TOKENS): { blockTokens: number; blockBytes: number; blocks: number; limitBytes: number } {
  // keys and values (2) of every layer, f16 (2 bytes) per element
  const blockBytes = config.blockCount * 2 * config.headCountKv * blockTokens * config.headDim * 2;
  const blocks = Math.floor(bytes / blockBytes);
  return { blockTokens, blockBytes, blocks, limitBytes: blocks * blockBytes };
}

/** Where a sequence's cache stands in the saving: blocks saved so far and the last one's id in the index. */
interface SaveState {
  saved: number;
  parent: number | undefined;
  /** The chain broke (a block could not be indexed): later blocks of this sequence are not saved. */
  broken: boolean;
}

/** See the module comment. */
export class KvPrefixCache {
  readonly blockTokens: number;
  readonly blockBytes: number;
  private readonly pool: KvBlockPool | undefined;
  private readonly storage: (Uint16Array | undefined)[];
  private readonly layerStride: number;
  private readonly states = new WeakMap<KvCache, SaveState>();
  private allocatedBytes = 0;
  private reused = 0;

  constructor(
    private readonly config: ModelConfig,
    options: KvPrefixCacheOptions,
  ) {
    const B = options.blockTokens ?? PROMPT_CACHE_BLOCK_TOKENS;
    if (!Number.isInteger(B) || B < 1) throw new RangeError(`blockTokens must be a positive integer, got ${B}`);
    if (!(options.bytes >= 0)) throw new RangeError(`the prompt cache size must be ≥ 0 bytes, got ${options.bytes}`);
    const { blockBytes, blocks } = promptCacheLayout(config, options.bytes, B);
    this.blockTokens = B;
    this.layerStride = config.headCountKv * B * config.headDim;
    this.blockBytes = blockBytes;
    this.pool = blocks > 0 ? new KvBlockPool({ blockTokens: B, blocks }) : undefined;
    this.storage = new Array<Uint16Array | undefined>(blocks).fill(undefined);
  }

  /** Whether the cache can hold anything (a limit below one block disables it). */
  get enabled(): boolean {
    return this.pool !== undefined;
  }

  get stats(): PromptCacheStats {
    const s = this.pool?.stats;
    return {
      limitBytes: (this.pool?.blocks ?? 0) * this.blockBytes,
      bytes: this.allocatedBytes,
      blockTokens: this.blockTokens,
      cachedBlocks: s?.cached ?? 0,
      reusedTokens: this.reused,
      evictedBlocks: s?.evicted ?? 0,
    };
  }

  /**
   * Copies the longest cached prefix of `ids` (whole blocks, never all of the ids) into the empty
   * `cache` and returns how many positions it now holds.
   */
  restore(cache: KvCache, ids: readonly number[]): number {
    if (!this.pool || cache.length !== 0) return 0;
    const m = this.pool.match(ids, Math.min(ids.length - 1, cache.capacity));
    try {
      m.blocks.forEach((b, j) => this.copyBlock(cache, j, b, 'in'));
    } finally {
      this.pool.release(m.blocks);
    }
    cache.length = m.tokens;
    this.states.set(cache, { saved: m.blocks.length, parent: m.blocks[m.blocks.length - 1], broken: false });
    this.reused += m.tokens;
    return m.tokens;
  }

  /**
   * Saves the blocks of `cache` that passes have filled since the last call: `ids` are the ids of its
   * positions (at least cache.length of them). Only complete blocks are saved, so a cancelled or
   * failed pass leaves nothing half-written behind.
   */
  save(cache: KvCache, ids: readonly number[]): void {
    const pool = this.pool;
    if (!pool) return;
    let st = this.states.get(cache);
    if (!st) this.states.set(cache, (st = { saved: 0, parent: undefined, broken: false }));
    const B = this.blockTokens;
    const full = Math.min(Math.floor(cache.length / B), Math.floor(ids.length / B));
    while (!st.broken && st.saved < full) {
      const j = st.saved;
      const b = pool.allocate();
      if (b === undefined) return; // every block is being copied right now: try again after the next pass
      this.copyBlock(cache, j, b, 'out');
      const kept = pool.commit(b, ids, j * B, st.parent);
      const indexed = pool.isCached(kept);
      pool.release([b]); // an equal block was already cached, or it could not be indexed: b is free again
      if (!indexed) st.broken = true;
      st.parent = kept;
      st.saved++;
    }
  }

  /** Copies block `j` of the sequence's positions between its cache and pool block `b`. */
  private copyBlock(cache: KvCache, j: number, b: number, direction: 'in' | 'out'): void {
    const { headCountKv: H, headDim: D, blockCount: L } = this.config;
    const B = this.blockTokens;
    const cap = cache.capacity;
    const store = direction === 'out' ? this.blockStorage(b) : (this.storage[b] as Uint16Array);
    for (let l = 0; l < L; l++) {
      const keyBase = 2 * l * this.layerStride;
      const valueBase = keyBase + this.layerStride;
      const keys = cache.keys[l];
      const values = cache.values[l];
      for (let h = 0; h < H; h++) {
        // keys [kvHead][position][headDim]: one run of B·D per kv head
        const inCache = (h * cap + j * B) * D;
        const inBlock = keyBase + h * B * D;
        if (direction === 'out') store.set(keys.subarray(inCache, inCache + B * D), inBlock);
        else keys.set(store.subarray(inBlock, inBlock + B * D), inCache);
        // values [kvHead][headDim][position]: one run of B per (kv head, dimension)
        for (let d = 0; d < D; d++) {
          const vc = (h * D + d) * cap + j * B;
          const vb = valueBase + (h * D + d) * B;
          if (direction === 'out') store.set(values.subarray(vc, vc + B), vb);
          else values.set(store.subarray(vb, vb + B), vc);
        }
      }
    }
  }

  private blockStorage(b: number): Uint16Array {
    let s = this.storage[b];
    if (!s) {
      s = this.storage[b] = new Uint16Array(this.blockBytes / 2);
      this.allocatedBytes += this.blockBytes;
    }
    return s;
  }
}
