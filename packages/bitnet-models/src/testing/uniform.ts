import { SeededRandom } from '../synthetic/Random';

/** A seeded uniform [0, 1) generator for tests. */
export function rng(seed: number): () => number {
  const r = new SeededRandom(seed);
  return () => r.next();
}
