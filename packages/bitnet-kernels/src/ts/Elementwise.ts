/**
 * Element-wise kernels, each f32 operation rounded as ggml does it. They read element i before
 * writing element i, so `out` may be one of the inputs.
 */
const fround = Math.fround;

/** out = max(gate, 0)² · up (ggml_relu, ggml_sqr, ggml_mul). */
export function reluSqrMul(gate: Float32Array, up: Float32Array, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) {
    const r = gate[i] > 0 ? gate[i] : 0;
    out[i] = fround(r * r) * up[i];
  }
}

/** out = gate / (1 + exp(−gate)) · up (ggml_silu, ggml_mul). */
export function siluMul(gate: Float32Array, up: Float32Array, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) {
    const g = gate[i];
    out[i] = fround(g / fround(1 + fround(Math.exp(-g)))) * up[i];
  }
}

/** out = a + b. */
export function add(a: Float32Array, b: Float32Array, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i] + b[i];
}
