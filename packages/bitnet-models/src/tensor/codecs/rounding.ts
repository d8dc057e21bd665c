/** Rounding helpers that mirror the C library functions ggml's reference quantizers call. */

/** C's roundf / lroundf: nearest integer, halves away from zero. Exact for f32 inputs. */
export function roundHalfAwayFromZero(x: number): number {
  return x < 0 ? -Math.floor(-x + 0.5) : Math.floor(x + 0.5);
}

/** Nearest integer clamped to [lo, hi] (halves rounded up; used by our own K-quant search). */
export function roundClamp(x: number, lo: number, hi: number): number {
  const r = Math.round(x);
  return r < lo ? lo : r > hi ? hi : r;
}
