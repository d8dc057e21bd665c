import { SeededRandom } from '../synthetic/Random';

/** A seeded uniform [0, 1) generator for tests. */
export function rng(seed: number): () => number {
  const r = new SeededRandom(seed);
  return () => r.next();
}

/** Cosine similarity of two equally long vectors. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}
