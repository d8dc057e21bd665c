import { describeValue } from '@bitnet/models';

/**
 * The bookkeeping of a prompt cache over fixed-size blocks of KV positions (issue 18's first layer:
 * the state machine alone, tested with plain ids; the KV storage and the engine are wired to it
 * separately).
 *
 * A pool of `blocks` block ids, each holding `blockTokens` positions. A sequence owns the blocks of
 * its positions; a block that a completed forward pass filled entirely can be committed to the
 * prefix index under (parent block, its token ids), so the index is a chain: a block stands for the
 * whole prefix up to its end, and a later prompt finds its longest cached prefix block by block
 * (`match`), sharing those blocks (reference counts) instead of recomputing them. Only whole blocks
 * are shared; the positions after the last whole matching block are computed again.
 *
 * Memory is bounded by the pool size. A released block that is in the index stays cached (least
 * recently used first in line for eviction); any other released block is free at once. `allocate`
 * takes a free block, else evicts the least recently used cached block nobody holds — never a block
 * a sequence holds. Evicting a block also drops its descendants from the index (their chain would
 * point at a reused id), so a match can never cross into another prefix.
 */

/** Settings of a {@link KvBlockPool}. */
export interface KvBlockPoolOptions {
  /** Positions per block (≥ 1). */
  readonly blockTokens: number;
  /** Blocks in the pool (≥ 1): the KV memory limit. */
  readonly blocks: number;
}

/** The cached prefix a prompt can share. */
export interface PrefixMatch {
  /** Blocks holding the prompt's first `tokens` ids, in order; each is now held by the caller (release them). */
  readonly blocks: number[];
  /** Positions they cover: blocks.length × blockTokens. */
  readonly tokens: number;
  /**
   * When asked for (`match(ids, max, true)`): the indexed block after them whose first `tokens` ids
   * (1 ≤ tokens < blockTokens) are the prompt's next ones, held by the caller too — a partly matching
   * block, to be copied (never written: others share it) and its first positions reused.
   */
  readonly partial?: { readonly block: number; readonly tokens: number };
}

/** Counters of a pool (for metrics). */
export interface KvBlockPoolStats {
  /** Blocks held by sequences. */
  inUse: number;
  /** Blocks nobody holds that stay cached (evictable). */
  cached: number;
  free: number;
  /** Blocks taken out of the index so far (to make room, with the descendants of those). */
  evicted: number;
}

const NO_PARENT = -1;

/** See the module comment. */
export class KvBlockPool {
  readonly blockTokens: number;
  readonly blocks: number;
  private readonly refs: Int32Array;
  /** Per block: its parent in the index, or NO_PARENT; meaningful while `indexed`. */
  private readonly parent: Int32Array;
  private readonly indexed: Uint8Array;
  /** Per block: the token ids it was committed with. */
  private readonly tokens: (Int32Array | undefined)[];
  private readonly children: (Set<number> | undefined)[];
  /** Indexed blocks with no parent (the first block of a prefix). */
  private readonly roots = new Set<number>();
  /** Index key (parent, hash of the ids) → blocks with that key (ids compared on lookup). */
  private readonly index = new Map<string, number[]>();
  private readonly freeList: number[] = [];
  /** Indexed blocks nobody holds, least recently used first. */
  private readonly lru = new Set<number>();
  private evictions = 0;

  constructor(options: KvBlockPoolOptions) {
    const { blockTokens, blocks } = options;
    if (!Number.isInteger(blockTokens) || blockTokens < 1) throw new RangeError(`blockTokens must be a positive integer, got ${describeValue(blockTokens)}`);
    if (!Number.isInteger(blocks) || blocks < 1) throw new RangeError(`blocks must be a positive integer, got ${describeValue(blocks)}`);
    this.blockTokens = blockTokens;
    this.blocks = blocks;
    this.refs = new Int32Array(blocks);
    this.parent = new Int32Array(blocks).fill(NO_PARENT);
    this.indexed = new Uint8Array(blocks);
    this.tokens = new Array<Int32Array | undefined>(blocks).fill(undefined);
    this.children = new Array<Set<number> | undefined>(blocks).fill(undefined);
    for (let b = blocks - 1; b >= 0; b--) this.freeList.push(b);
  }

  get stats(): KvBlockPoolStats {
    return { inUse: this.blocks - this.freeList.length - this.lru.size, cached: this.lru.size, free: this.freeList.length, evicted: this.evictions };
  }

  /** How many blocks `allocate` could hand out now (free ones and cached ones nobody holds). */
  get available(): number {
    return this.freeList.length + this.lru.size;
  }

  /** Sequences holding `block`. */
  refCount(block: number): number {
    return this.refs[this.check(block)];
  }

  /** Whether `block` is in the prefix index. */
  isCached(block: number): boolean {
    return this.indexed[this.check(block)] === 1;
  }

  /**
   * The longest prefix of `ids` held by indexed blocks, whole blocks only; the blocks are held for the
   * caller from now on. At most `maxTokens` positions (default: all but the last id, so a prompt always
   * has at least one id left to compute and yields its logits).
   */
  match(ids: ArrayLike<number>, maxTokens = ids.length - 1, partial = false): PrefixMatch {
    const B = this.blockTokens;
    const limit = Math.min(ids.length, maxTokens);
    const out: number[] = [];
    let parent = NO_PARENT;
    for (let start = 0; start + B <= limit; start += B) {
      const b = this.find(parent, ids, start);
      if (b === undefined) break;
      out.push(b);
      parent = b;
    }
    for (const b of out) this.hold(b);
    const tokens = out.length * B;
    const part = partial ? this.longestPartial(parent, ids, tokens, Math.min(limit - tokens, B - 1)) : undefined;
    if (part) this.hold(part.block);
    return { blocks: out, tokens, partial: part };
  }

  /** The child of `parent` (a root when NO_PARENT) sharing the most leading ids with ids[start, start + max). */
  private longestPartial(parent: number, ids: ArrayLike<number>, start: number, max: number): { block: number; tokens: number } | undefined {
    if (max < 1) return undefined;
    let best: { block: number; tokens: number } | undefined;
    for (const c of parent === NO_PARENT ? this.roots : (this.children[parent] ?? [])) {
      const t = this.tokens[c] as Int32Array;
      let n = 0;
      while (n < max && t[n] === ids[start + n]) n++;
      if (n > 0 && n > (best?.tokens ?? 0)) best = { block: c, tokens: n };
      if (n === max) break;
    }
    return best;
  }

  /**
   * A block for a sequence's own positions, held by it: a free block, else the least recently used
   * cached block nobody holds (evicted from the index with its descendants). Undefined when every
   * block is held.
   */
  allocate(): number | undefined {
    let b = this.freeList.pop();
    if (b === undefined) {
      const oldest = this.lru.values().next();
      if (oldest.done) return undefined;
      this.evict(oldest.value); // frees it (and its descendants nobody holds)
      b = this.freeList.pop() as number;
    }
    this.refs[b] = 1;
    return b;
  }

  /** `n` blocks as `allocate` gives them, or none at all (undefined) when fewer than `n` can be had now. */
  allocateMany(n: number): number[] | undefined {
    if (n > this.available) return undefined;
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.allocate() as number);
    return out;
  }

  /**
   * Enters a block the caller holds and has filled completely into the index: `ids[start, start +
   * blockTokens)` are its positions' ids and `parent` the block before it in the same sequence
   * (undefined for a sequence's first block). Returns the block now standing for that prefix: an
   * equal block already indexed (the caller may switch to it and release its own) or `block`.
   */
  commit(block: number, ids: ArrayLike<number>, start: number, parent?: number): number {
    this.check(block);
    if (this.refs[block] === 0) throw new Error(`block ${block} is not held`);
    if (start < 0 || start + this.blockTokens > ids.length) throw new RangeError(`ids[${start}, ${start + this.blockTokens}) is outside the ${ids.length} ids`);
    const p = parent === undefined ? NO_PARENT : this.check(parent);
    if (p !== NO_PARENT && !this.indexed[p]) return block; // the parent's prefix is not cached: neither is this one
    if (this.indexed[block]) return block;
    const existing = this.find(p, ids, start);
    if (existing !== undefined) return existing;
    const t = Int32Array.from({ length: this.blockTokens }, (_, i) => ids[start + i]);
    this.tokens[block] = t;
    this.parent[block] = p;
    this.indexed[block] = 1;
    const key = keyOf(p, t, 0, t.length);
    const bucket = this.index.get(key);
    if (bucket) bucket.push(block);
    else this.index.set(key, [block]);
    if (p !== NO_PARENT) (this.children[p] ??= new Set()).add(block);
    else this.roots.add(block);
    return block;
  }

  /** Drops one hold on each block: an indexed block nobody holds stays cached, any other becomes free. */
  release(blocks: readonly number[]): void {
    // last block first: a chain's tail is then older in the eviction order than its head
    for (let i = blocks.length - 1; i >= 0; i--) {
      const b = this.check(blocks[i]);
      if (this.refs[b] <= 0) throw new Error(`block ${b} is not held`);
      if (--this.refs[b] > 0) continue;
      if (this.indexed[b]) this.lru.add(b);
      else this.freeList.push(b);
    }
  }

  private hold(b: number): void {
    if (this.refs[b]++ === 0) this.lru.delete(b);
  }

  private find(parent: number, ids: ArrayLike<number>, start: number): number | undefined {
    const bucket = this.index.get(keyOf(parent, ids, start, start + this.blockTokens));
    if (!bucket) return undefined;
    outer: for (const b of bucket) {
      const t = this.tokens[b] as Int32Array;
      for (let i = 0; i < t.length; i++) if (t[i] !== ids[start + i]) continue outer;
      return b;
    }
    return undefined;
  }

  /** Takes `b` (and, recursively, its descendants) out of the index; those nobody holds become free. */
  private evict(b: number): void {
    const stack = [b];
    while (stack.length > 0) {
      const x = stack.pop() as number;
      if (!this.indexed[x]) continue;
      const key = keyOf(this.parent[x], this.tokens[x] as Int32Array, 0, this.blockTokens);
      const bucket = this.index.get(key) as number[];
      bucket.splice(bucket.indexOf(x), 1);
      if (bucket.length === 0) this.index.delete(key);
      const p = this.parent[x];
      if (p !== NO_PARENT) this.children[p]?.delete(x);
      else this.roots.delete(x);
      this.indexed[x] = 0;
      this.evictions++;
      this.parent[x] = NO_PARENT;
      this.tokens[x] = undefined;
      for (const c of this.children[x] ?? []) stack.push(c);
      this.children[x] = undefined;
      if (this.refs[x] === 0) {
        this.lru.delete(x);
        this.freeList.push(x);
      }
    }
  }

  private check(block: number): number {
    if (!Number.isInteger(block) || block < 0 || block >= this.blocks) throw new RangeError(`block ${block} is not in the pool (0..${this.blocks - 1})`);
    return block;
  }
}

/** Index key of a block: its parent and an FNV-1a hash of its ids (equal keys are told apart by the ids). */
function keyOf(parent: number, ids: ArrayLike<number>, from: number, to: number): string {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    h = Math.imul(h ^ (ids[i] & 0xffff), 0x01000193);
    h = Math.imul(h ^ (ids[i] >>> 16), 0x01000193);
  }
  return `${parent}:${(h >>> 0).toString(36)}`;
}
