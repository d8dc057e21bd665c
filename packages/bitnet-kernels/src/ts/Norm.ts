/**
 * RMSNorm as ggml computes it: the sum of f32 squares in a double, mean = fround(sum / cols),
 * scale = 1 / sqrt(mean + eps) in f32, then out = fround(fround(x · scale) · weight).
 * Each row is read completely before it is written, so `out` may be `x` itself.
 */
const fround = Math.fround;

export function rmsNorm(x: Float32Array, rows: number, cols: number, weight: Float32Array, eps: number, out: Float32Array): void {
  const e = fround(eps);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let sum = 0;
    for (let i = 0; i < cols; i++) sum += fround(x[o + i] * x[o + i]);
    const mean = fround(sum / cols);
    const scale = fround(1 / fround(Math.sqrt(fround(mean + e))));
    for (let i = 0; i < cols; i++) out[o + i] = fround(x[o + i] * scale) * weight[i];
  }
}
