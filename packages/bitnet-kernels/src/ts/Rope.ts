/**
 * NEOX rotary embedding in place on x: tokens × heads × headDim. For token t at p = positions[t],
 * pair (i, i + ropeDim/2), i < ropeDim/2, rotates by θ = p · base^(−2i/ropeDim). θ, cos θ and sin θ
 * are computed in double and cos/sin rounded to f32 (an f32 θ would be off by ~p·2^−24 rad, far
 * more than the 1e-5 the implementations must agree to); the rotation rounds once per output.
 */

export function ropeNeox(
  x: Float32Array,
  tokens: number,
  heads: number,
  headDim: number,
  ropeDim: number,
  positions: Int32Array,
  freqBase: number,
): void {
  const half = ropeDim / 2;
  const cos = new Float32Array(half);
  const sin = new Float32Array(half);
  for (let t = 0; t < tokens; t++) {
    const p = positions[t];
    for (let i = 0; i < half; i++) {
      const theta = p * Math.pow(freqBase, (-2 * i) / ropeDim);
      cos[i] = Math.cos(theta);
      sin[i] = Math.sin(theta);
    }
    for (let h = 0; h < heads; h++) {
      const o = (t * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const x0 = x[o + i];
        const x1 = x[o + i + half];
        x[o + i] = x0 * cos[i] - x1 * sin[i];
        x[o + i + half] = x0 * sin[i] + x1 * cos[i];
      }
    }
  }
}
