/**
 * Element-wise kernels, each f32 operation rounded as ggml does it. They read element i before
 * writing element i, so `out` may be one of the inputs.
 */
import { f32ToF16 } from '@bitnet/models';
import { vSilu } from './GgmlF32';

const fround = Math.fround;

/** out = max(gate, 0)² · up (ggml_relu, ggml_sqr, ggml_mul). */
export function reluSqrMul(gate: Float32Array, up: Float32Array, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) {
    const r = gate[i] > 0 ? gate[i] : 0;
    out[i] = fround(r * r) * up[i];
  }
}

/**
 * out = silu(gate) · up as ggml_vec_swiglu_f32 (AVX2): silu(x) = x / (1 + v_expf(0 − x)) with ggml's
 * f32 exp approximation (GgmlF32.vExpf), then one f32 multiply by up. (ggml's scalar tail for rows
 * whose length is not a multiple of 8 uses libm's expf instead; the kernel uses v_expf everywhere.)
 */
export function siluMul(gate: Float32Array, up: Float32Array, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = vSilu(gate[i]) * up[i];
}

/** out = a + b. */
export function add(a: Float32Array, b: Float32Array, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i] + b[i];
}

/** out = x · fround(s). */
export function scale(x: Float32Array, s: number, out: Float32Array): void {
  const f = fround(s);
  for (let i = 0; i < out.length; i++) out[i] = x[i] * f;
}

/** The integer matmuls' optional output scale (api/Kernels.ts): out = out · fround(s) unless s is absent or 1. */
export function scaleOutput(out: Float32Array, s: number | undefined): void {
  if (s !== undefined && s !== 1) scale(out, s, out);
}

/** out = f16 bits of x, rounded to nearest even. */
export function toF16(x: Float32Array, out: Uint16Array): void {
  for (let i = 0; i < out.length; i++) out[i] = f32ToF16(x[i]);
}
