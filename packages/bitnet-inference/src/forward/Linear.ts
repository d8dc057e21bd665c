import { GgmlType, f32ToBf16, bf16ToF32, f32ToF16, f16ToF32 } from '@bitnet/models';
import { I8Activations, Kernels, Q8_0Activations, Q8KActivations, allocI8Activations, allocQ8_0Activations, allocQ8KActivations } from '@bitnet/kernels';
import type { WeightMatrix } from '../model/BitnetWeights';

/**
 * y = W·x for any weight type, quantizing activations the way the reference engine of each format
 * does: per token int8 for I2_S (bitnet.cpp), Q8_K blocks for TQ1_0/TQ2_0 (llama.cpp), Q8_0 blocks for
 * Q8_0 weights (llama.cpp; e.g. the output matrix with outputType 'q8_0'), f16/bf16 rounding of x for
 * F16/BF16 weights (ggml's vec_dot types). Other float types take f32 x.
 * Activation buffers are reused per (rows, cols).
 */
export class Linear {
  private readonly i8 = new Map<string, I8Activations>();
  private readonly q8k = new Map<string, Q8KActivations>();
  private readonly q8_0 = new Map<string, Q8_0Activations>();
  private rounded = new Float32Array(0);

  constructor(private readonly kernels: Kernels) {}

  /** out (rows × w.rows) = x (rows × w.cols) · Wᵀ, times `scale` when it is not 1. */
  apply(w: WeightMatrix, x: Float32Array, rows: number, out: Float32Array, scale = 1): void {
    const k = this.kernels;
    const n = rows * w.cols;
    const xs = x.length === n ? x : x.subarray(0, n);
    const ys = out.length === rows * w.rows ? out : out.subarray(0, rows * w.rows);
    if (w.kind === 'ternary') {
      if (w.type === GgmlType.I2_S) {
        const a = this.buffer(this.i8, rows, w.cols, allocI8Activations);
        k.quantizeI8PerToken(xs, rows, w.cols, a);
        k.matmulI2sI8(w, a, ys);
      } else {
        const a = this.buffer(this.q8k, rows, w.cols, allocQ8KActivations);
        k.quantizeQ8K(xs, rows, w.cols, a);
        if (w.type === GgmlType.TQ2_0) k.matmulTq2_0Q8K(w, a, ys);
        else k.matmulTq1_0Q8K(w, a, ys);
      }
    } else if (w.type === GgmlType.Q8_0) {
      const a = this.buffer(this.q8_0, rows, w.cols, allocQ8_0Activations);
      k.quantizeQ8_0(xs, rows, w.cols, a);
      k.matmulQ8_0Q8_0(w, a, ys);
    } else {
      let input = xs;
      if (w.type === GgmlType.F16 || w.type === GgmlType.BF16) {
        if (this.rounded.length < n) this.rounded = new Float32Array(n);
        input = this.rounded.subarray(0, n);
        if (w.type === GgmlType.F16) for (let i = 0; i < n; i++) input[i] = f16ToF32(f32ToF16(xs[i]));
        else for (let i = 0; i < n; i++) input[i] = bf16ToF32(f32ToBf16(xs[i]));
      }
      k.matmulFloat(w, input, rows, ys);
    }
    if (scale !== 1) k.scale(ys, scale, ys);
  }

  private buffer<T>(cache: Map<string, T>, rows: number, cols: number, alloc: (r: number, c: number) => T): T {
    const key = `${rows}x${cols}`;
    let b = cache.get(key);
    if (!b) {
      b = alloc(rows, cols);
      cache.set(key, b);
    }
    return b;
  }
}
