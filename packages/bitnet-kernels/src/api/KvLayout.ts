/**
 * The KV cache layout of the Kernels contract (see `KvShape`), as index functions: for code that
 * reads or writes a cache outside the kernels (tests, inspection, copies between caches).
 * Contiguous (no `blocks`): one block of `capacity` positions. Paged: position p lives in block
 * blocks[⌊p / blockTokens⌋] at offset p mod blockTokens, each block laid out as a contiguous cache of
 * `blockTokens` positions.
 */
import type { KvShape } from './Kernels';

type Layout = Pick<KvShape, 'kvHeads' | 'headDim' | 'capacity' | 'blocks' | 'blockTokens'>;

/** Positions per block: blockTokens when paged, else capacity. */
export function kvBlockPositions(s: Layout): number {
  return s.blocks ? s.blockTokens! : s.capacity;
}

/** Elements per block of each cache array: kvHeads × positions per block × headDim. */
export function kvBlockElements(s: Layout): number {
  return s.kvHeads * kvBlockPositions(s) * s.headDim;
}

/** Element index of the key of kv head `kvHead` at `position`, dimension `d`: [block][kvHead][position in block][headDim]. */
export function keyIndex(s: Layout, kvHead: number, position: number, d: number): number {
  if (!s.blocks) return (kvHead * s.capacity + position) * s.headDim + d;
  const bt = s.blockTokens!;
  const j = Math.floor(position / bt);
  return s.blocks[j] * kvBlockElements(s) + (kvHead * bt + (position - j * bt)) * s.headDim + d;
}

/** Element index of the value of kv head `kvHead` at `position`, dimension `d`: [block][kvHead][headDim][position in block]. */
export function valueIndex(s: Layout, kvHead: number, position: number, d: number): number {
  if (!s.blocks) return (kvHead * s.headDim + d) * s.capacity + position;
  const bt = s.blockTokens!;
  const j = Math.floor(position / bt);
  return s.blocks[j] * kvBlockElements(s) + (kvHead * s.headDim + d) * bt + (position - j * bt);
}
