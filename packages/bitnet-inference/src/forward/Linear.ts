import { ACTIVATION_FORMATS, Kernels, PreparedActivations, tensorKernel } from '@bitnet/kernels';
import type { WeightMatrix } from '../model/BitnetWeights';

/**
 * y = W·x for any weight type the kernels' tensor-type table holds. The table says how x is
 * prepared for each type (per-token int8 for I2_S as bitnet.cpp, Q8_K blocks for TQ1_0/TQ2_0 and
 * Q8_0 blocks for Q8_0 as llama.cpp, f16/bf16 rounding for F16/BF16 as ggml's vec_dot types, f32
 * otherwise) and which kernel multiplies it; this class only keeps one activation buffer per
 * (format, rows, cols) so that repeated calls allocate nothing.
 */
export class Linear {
  private readonly buffers = new Map<string, PreparedActivations | undefined>();

  constructor(private readonly kernels: Kernels) {}

  /** out (rows × w.rows) = x (rows × w.cols) · Wᵀ, times `scale` when it is not 1. */
  apply(w: WeightMatrix, x: Float32Array, rows: number, out: Float32Array, scale = 1): void {
    const k = this.kernels;
    const entry = tensorKernel(w.type);
    const format = ACTIVATION_FORMATS[entry.activation];
    const xs = x.length === rows * w.cols ? x : x.subarray(0, rows * w.cols);
    const ys = out.length === rows * w.rows ? out : out.subarray(0, rows * w.rows);
    const key = `${entry.activation}:${rows}x${w.cols}`;
    let buffer = this.buffers.get(key);
    if (buffer === undefined && !this.buffers.has(key)) {
      buffer = format.alloc(rows, w.cols);
      this.buffers.set(key, buffer);
    }
    // The scale rides along with the matmul (one kernel call; bit for bit the matmul, then `scale`).
    entry.matmul(k, w, format.prepare(k, xs, rows, w.cols, buffer), rows, ys, scale);
  }
}
