import { ACTIVATION_FORMATS, type ActivationFormat, type I8Activations, Kernels, PreparedActivations, type Q8KActivations, tensorKernel, type TernaryMatrix } from '@bitnet/kernels';
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
    this.applyAll([w], x, rows, [out], [scale]);
  }

  /**
   * outs[j] = x · W_jᵀ × scales[j] for several matrices reading the same x (a layer's Q, K and V; its
   * gate and up): x is prepared once per activation format among them instead of once per matrix.
   * The matrices must all have x's width. Each result is the one `apply` gives.
   */
  applyAll(ws: readonly WeightMatrix[], x: Float32Array, rows: number, outs: readonly Float32Array[], scales: readonly number[]): void {
    const k = this.kernels;
    const cols = ws[0].cols;
    ws.forEach((w, j) => {
      if (w.cols !== cols) throw new RangeError(`Linear.applyAll: matrix ${j} takes ${w.cols} inputs, matrix 0 takes ${cols}`);
    });
    const xs = x.length === rows * cols ? x : x.subarray(0, rows * cols);
    const ys = outs.map((out, j) => (out.length === rows * ws[j].rows ? out : out.subarray(0, rows * ws[j].rows)));
    const prepare = (activation: ActivationFormat) => ACTIVATION_FORMATS[activation].prepare(k, xs, rows, cols, this.buffer(activation, rows, cols));
    const first = tensorKernel(ws[0].type);
    if (ws.length > 1 && first.kind === 'ternary' && ws.every((w) => w.type === ws[0].type)) {
      // one ternary type: one call for all of them (the native kernels split their rows over the threads at once)
      k.matmulTernaryMany(ws as readonly TernaryMatrix[], prepare(first.activation) as I8Activations | Q8KActivations, ys, scales);
      return;
    }
    let prepared: PreparedActivations | undefined;
    let preparedAs: ActivationFormat | undefined;
    ws.forEach((w, j) => {
      const entry = tensorKernel(w.type);
      if (preparedAs !== entry.activation) {
        prepared = prepare(entry.activation);
        preparedAs = entry.activation;
      }
      // The scale rides along with the matmul (one kernel call; bit for bit the matmul, then `scale`).
      entry.matmul(k, w, prepared as PreparedActivations, rows, ys[j], scales[j]);
    });
  }

  /** The kept activation buffer of a format and shape (undefined for formats that need none). */
  private buffer(activation: ActivationFormat, rows: number, cols: number): PreparedActivations | undefined {
    const key = `${activation}:${rows}x${cols}`;
    let buffer = this.buffers.get(key);
    if (buffer === undefined && !this.buffers.has(key)) {
      buffer = ACTIVATION_FORMATS[activation].alloc(rows, cols);
      this.buffers.set(key, buffer);
    }
    return buffer;
  }
}
