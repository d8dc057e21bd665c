/**
 * Float-activation matmul for F32/F16/BF16/Q8_0/Q4_K/Q6_K weights and the embedding gather for every
 * type. Weight rows are dequantized with @bitnet/models' tested codecs a few rows at a time into a
 * scratch Float32Array and reused for every activation row; dot products accumulate in doubles (the
 * products of two f32 values are exact in a double) and round to f32 once.
 */
import { dequantizeRowsInto } from '@bitnet/models';
import type { FloatMatrix, TernaryMatrix } from '../api/Kernels';

/** Weight rows dequantized per call of the codec (amortizes its checks and subarray views). */
const ROW_CHUNK = 16;

export function matmulFloat(w: FloatMatrix, x: Float32Array, xRows: number, out: Float32Array): void {
  const N = w.rows;
  const K = w.cols;
  const chunk = Math.min(ROW_CHUNK, N);
  const rows = new Float32Array(chunk * K);
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const count = Math.min(chunk, N - n0);
    dequantizeRowsInto(w.type, w.data, K, n0, count, rows, N * K);
    for (let r = 0; r < count; r++) {
      const ro = r * K;
      for (let m = 0; m < xRows; m++) {
        const xo = m * K;
        let s0 = 0;
        let s1 = 0;
        let k = 0;
        for (; k + 1 < K; k += 2) {
          s0 += rows[ro + k] * x[xo + k];
          s1 += rows[ro + k + 1] * x[xo + k + 1];
        }
        if (k < K) s0 += rows[ro + k] * x[xo + k];
        out[m * N + n0 + r] = s0 + s1;
      }
    }
  }
}

/** out[i·cols ..] = dequant(row ids[i]) for any float, k-quant or ternary matrix. */
export function getRows(w: FloatMatrix | TernaryMatrix, ids: Int32Array, out: Float32Array): void {
  const K = w.cols;
  const total = w.rows * K;
  for (let i = 0; i < ids.length; i++) {
    dequantizeRowsInto(w.type, w.data, K, ids[i], 1, out.subarray(i * K, (i + 1) * K), total);
  }
}
