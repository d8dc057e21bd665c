/**
 * The KV cache layout of the Kernels contract (see `KvShape`), as index functions: for code that
 * reads or writes a cache outside the kernels (tests, inspection, copies between caches).
 */
import type { KvShape } from './Kernels';

type Layout = Pick<KvShape, 'kvHeads' | 'headDim' | 'capacity'>;

/** Element index of the key of kv head `kvHead` at `position`, dimension `d`: [kvHead][position][headDim]. */
export function keyIndex(s: Layout, kvHead: number, position: number, d: number): number {
  return (kvHead * s.capacity + position) * s.headDim + d;
}

/** Element index of the value of kv head `kvHead` at `position`, dimension `d`: [kvHead][headDim][position]. */
export function valueIndex(s: Layout, kvHead: number, position: number, d: number): number {
  return (kvHead * s.headDim + d) * s.capacity + position;
}
