import type { PageMemory } from '@bitnet/kernels';
import type { ModelConfig } from '@bitnet/models';

/**
 * Storage a paged cache reads and writes in place: per layer, an arena of blocks in the kernels'
 * paged layout (@bitnet/kernels `KvShape.blocks`: keys [block][kvHead][blockTokens][headDim], values
 * [block][kvHead][headDim][blockTokens]), and the blocks holding this sequence's positions in order.
 */
export interface KvCachePages {
  readonly keys: readonly Uint16Array[];
  readonly values: readonly Uint16Array[];
  /** blocks[j] holds positions [j·blockTokens, (j+1)·blockTokens); blocks.length·blockTokens ≥ capacity. */
  readonly blocks: Int32Array;
  readonly blockTokens: number;
}

/**
 * One sequence's key/value cache: per layer, f16 bits in the kernels' KV layout (@bitnet/kernels
 * `KvShape`: keys [kvHead][position][headDim], values [kvHead][headDim][position]), written by
 * `storeKv` and read by `attention`. Sized for the positions the request can reach, not the whole context.
 *
 * A paged cache (constructed with `pages`) holds no memory of its own: its positions live in blocks of
 * a shared arena (the prompt cache's, cache/KvPrefixCache.ts), some of which other sequences may read
 * too; the kernels follow its block table.
 */
export class KvCache {
  readonly keys: readonly Uint16Array[];
  readonly values: readonly Uint16Array[];
  /** The block table of a paged cache (undefined: one contiguous block of `capacity` positions). */
  readonly blocks: Int32Array | undefined;
  readonly blockTokens: number | undefined;
  /** Positions filled so far. */
  length = 0;
  /** The buffer of every layer's keys and values when it came from a PageMemory (released by `release`). */
  private storage: { memory: PageMemory; buffer: ArrayBuffer } | undefined;

  /**
   * `pages`: a paged cache over a shared arena. Otherwise the cache owns its storage: from `memory`
   * when given (one buffer, returned to it by `release` as soon as the sequence ends), else ordinary
   * typed arrays left to the garbage collector.
   */
  constructor(
    readonly config: ModelConfig,
    readonly capacity: number,
    pages?: KvCachePages,
    memory?: PageMemory,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > config.contextLength) {
      throw new RangeError(`KV cache capacity ${capacity} must be between 1 and the context length ${config.contextLength}`);
    }
    if (pages) {
      if (pages.blocks.length * pages.blockTokens < capacity) throw new RangeError(`${pages.blocks.length} blocks of ${pages.blockTokens} positions cannot hold ${capacity}`);
      this.keys = pages.keys;
      this.values = pages.values;
      this.blocks = pages.blocks;
      this.blockTokens = pages.blockTokens;
      return;
    }
    const perLayer = capacity * config.headCountKv * config.headDim;
    const L = config.blockCount;
    this.blocks = undefined;
    this.blockTokens = undefined;
    if (memory) {
      const buffer = memory.allocate(2 * L * perLayer * 2);
      this.storage = { memory, buffer };
      this.keys = Array.from({ length: L }, (_, l) => new Uint16Array(buffer, 2 * l * perLayer * 2, perLayer));
      this.values = Array.from({ length: L }, (_, l) => new Uint16Array(buffer, (2 * l + 1) * perLayer * 2, perLayer));
      return;
    }
    this.keys = Array.from({ length: L }, () => new Uint16Array(perLayer));
    this.values = Array.from({ length: L }, () => new Uint16Array(perLayer));
  }

  /**
   * Gives the storage back to its PageMemory now (the cache must not be used again: its arrays become
   * empty). A no-op for a paged cache or ordinary arrays.
   */
  release(): void {
    const s = this.storage;
    this.storage = undefined;
    if (s) s.memory.release(s.buffer);
  }

  /** Bytes of KV storage this sequence's positions take (its blocks, for a paged cache). */
  get bytes(): number {
    const c = this.config;
    const positions = this.blocks ? this.blocks.length * (this.blockTokens as number) : this.capacity;
    return 2 * c.blockCount * positions * c.headCountKv * c.headDim * 2;
  }
}
