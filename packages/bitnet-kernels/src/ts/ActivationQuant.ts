/**
 * Per-token int8 activation quantization as bitnet.cpp does it for I2_S matmuls:
 * s = 127 / max(|x|, 1e-5), q = round(x·s) clamped to [-128, 127]. Returns the scale s, so that
 * the float result of an integer dot product is (Σ q·w) / s · weightScale.
 */
export function quantizeActivationsPerToken(x: Float32Array, out: Int8Array): number {
  if (out.length < x.length) throw new RangeError(`output holds ${out.length} values, input has ${x.length}`);
  let amax = 0;
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]);
    if (a > amax) amax = a;
  }
  const s = Math.fround(127 / Math.max(amax, 1e-5));
  for (let i = 0; i < x.length; i++) {
    const v = roundHalfAwayFromZero(Math.fround(x[i] * s));
    out[i] = v > 127 ? 127 : v < -128 ? -128 : v;
  }
  return s;
}

/** C's roundf: halves go away from zero. */
export function roundHalfAwayFromZero(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}
