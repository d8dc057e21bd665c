/**
 * NEOX rotary embedding in place on x: tokens × heads × headDim. For token t at p = positions[t],
 * pair (i, i + ropeDim/2), i < ropeDim/2, rotates by θ_i. θ is computed the way ggml does, in f32:
 * θ_0 = p, θ_{i+1} = θ_i · s with s = f32(base^(−2/ropeDim)); cos and sin of each f32 θ rounded to f32.
 * Matching ggml here matters: θ differs from the exact p·base^(−2i/ropeDim) by up to ~i·p·2^−24 rad,
 * enough to move K across an f16 rounding boundary in the KV cache and change later tokens.
 * cos/sin are glibc's sincosf (what ggml calls; not correctly rounded: ~2% of angles differ by an ulp
 * from the rounded exact values), reproduced in GgmlF32.sincosfGlibc; the native kernels call libm's.
 * s = f32(pow(base, −2/ropeDim)) equals glibc's powf for the bases and dims models use (checked).
 */
import { fmaf, sincosfGlibc } from './GgmlF32';

const f = Math.fround;

/** cos/sin tables for one position, ggml's iteration (shared with tests and the native contract). */
export function ropeAngles(p: number, half: number, ropeDim: number, freqBase: number, cos: Float32Array, sin: Float32Array): void {
  const scale = f(Math.pow(f(freqBase), f(-2 / ropeDim)));
  let theta = f(p);
  const sc = new Float32Array(2);
  for (let i = 0; i < half; i++) {
    sincosfGlibc(theta, sc);
    sin[i] = sc[0];
    cos[i] = sc[1];
    theta = f(theta * scale);
  }
}

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
    ropeAngles(positions[t], half, ropeDim, freqBase, cos, sin);
    for (let h = 0; h < heads; h++) {
      const o = (t * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const x0 = x[o + i];
        const x1 = x[o + i + half];
        // ggml's rotate_pairs as compiled (GCC contracts each line into one FMA):
        // x0·c − x1·s = fmaf(x0, c, −f(x1·s));  x0·s + x1·c = fmaf(x0, s, f(x1·c))
        x[o + i] = fmaf(x0, cos[i], -f(x1 * sin[i]));
        x[o + i + half] = fmaf(x0, sin[i], f(x1 * cos[i]));
      }
    }
  }
}
