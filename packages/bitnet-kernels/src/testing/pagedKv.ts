/**
 * A contiguous KV cache rewritten in the paged layout (KvShape.blocks / blockTokens) for the specs
 * that check both layouts give the same bits: the blocks lie in the arena in a scrambled order, among
 * spare blocks no position maps to, filled with NaN and −∞ bits (a kernel that read one would show it),
 * as are the slots of the used blocks past the positions copied. `blocks` may be longer than needed:
 * its extra entries are -1, which no kernel may look at.
 * Test support only: not part of the published build.
 */
import { SeededRandom } from '@bitnet/models';
import type { KvShape } from '../api/Kernels';
import { keyIndex, valueIndex } from '../api/KvLayout';
import { CACHE_POISON } from './kernelCases';

/** f16 −∞, with CACHE_POISON (a NaN) the filling of the blocks no position maps to. */
export const SPARE_POISON = 0xfc00;

export interface PagedKv<S extends KvShape> {
  shape: S & { blocks: Int32Array; blockTokens: number };
  kCache: Uint16Array;
  vCache: Uint16Array;
}

export interface PagedOptions {
  /** Blocks in the arena no position maps to (default 2). */
  spare?: number;
  /** Entries of `blocks` past the ones positions 0 .. positions − 1 need, each -1 (default 1). */
  extraEntries?: number;
  /** Positions copied from the contiguous cache (default startPos + tokens). */
  positions?: number;
}

/** A random order of 0 .. n − 1. */
function shuffled(n: number, rng: SeededRandom): number[] {
  const ids = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  return ids;
}

/** Positions 0 .. positions − 1 of a contiguous cache (shape without blocks) in a paged arena of `blockTokens` positions per block. */
export function toPaged<S extends KvShape>(shape: S, kCache: Uint16Array, vCache: Uint16Array, blockTokens: number, seed: number, options: PagedOptions = {}): PagedKv<S> {
  const { spare = 2, extraEntries = 1, positions = shape.startPos + shape.tokens } = options;
  const rng = new SeededRandom(seed);
  const needed = Math.max(1, Math.ceil(Math.max(positions, shape.startPos + shape.tokens) / blockTokens));
  const arena = shuffled(needed + spare, rng);
  const blocks = Int32Array.from({ length: needed + extraEntries }, (_, j) => (j < needed ? arena[j] : -1));
  const paged = { ...shape, blocks, blockTokens };
  const per = shape.kvHeads * blockTokens * shape.headDim;
  const k = new Uint16Array((needed + spare) * per);
  for (let b = 0; b < needed + spare; b++) {
    const used = arena.indexOf(b) < needed;
    for (let i = 0; i < per; i++) k[b * per + i] = used ? CACHE_POISON : i % 2 ? SPARE_POISON : CACHE_POISON;
  }
  const v = Uint16Array.from(k);
  for (let h = 0; h < shape.kvHeads; h++)
    for (let p = 0; p < positions; p++)
      for (let d = 0; d < shape.headDim; d++) {
        k[keyIndex(paged, h, p, d)] = kCache[keyIndex(shape, h, p, d)];
        v[valueIndex(paged, h, p, d)] = vCache[valueIndex(shape, h, p, d)];
      }
  return { shape: paged, kCache: k, vCache: v };
}
