/** Helpers shared by the ternary codecs (TQ1_0, TQ2_0, I2_S). */
import { roundHalfAwayFromZero } from './rounding';

/**
 * Ternarizes `n` values from values[o..] like ggml's TQ reference quantizers: returns d = max|x|
 * (f32) and writes lroundf(x · (1/d)) (−1, 0 or +1) into trits[0..n).
 */
export function ternarizeBlock(values: Float32Array, o: number, n: number, trits: Int8Array): number {
  const d = Math.fround(absMax(values, o, n));
  const id = d !== 0 ? Math.fround(1 / d) : 0;
  for (let i = 0; i < n; i++) {
    // |x · id| can exceed 1 by an f32 rounding step at most, which still rounds to ±1.
    trits[i] = roundHalfAwayFromZero(Math.fround(values[o + i] * id));
  }
  return d;
}

/** The maximum absolute value of values[o..o+n) (0 for an empty range). */
export function absMax(values: Float32Array, o: number, n: number): number {
  let amax = 0;
  for (let i = 0; i < n; i++) amax = Math.max(amax, Math.abs(values[o + i]));
  return amax;
}

/** Index of the first element of `trits` that is not −1, 0 or +1, or −1 when all are. */
export function findInvalidTrit(trits: Int8Array): number {
  for (let i = 0; i < trits.length; i++) {
    const t = trits[i];
    if (t !== 0 && t !== 1 && t !== -1) return i;
  }
  return -1;
}
