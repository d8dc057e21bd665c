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

  constructor(
    readonly config: ModelConfig,
    readonly capacity: number,
    pages?: KvCachePages,
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
    this.keys = Array.from({ length: config.blockCount }, () => new Uint16Array(perLayer));
    this.values = Array.from({ length: config.blockCount }, () => new Uint16Array(perLayer));
    this.blocks = undefined;
    this.blockTokens = undefined;
  }

  /** Bytes of KV storage this sequence's positions take (its blocks, for a paged cache). */
  get bytes(): number {
    const c = this.config;
    const positions = this.blocks ? this.blocks.length * (this.blockTokens as number) : this.capacity;
    return 2 * c.blockCount * positions * c.headCountKv * c.headDim * 2;
  }
}
