/**
 * Float-activation matmul for F32/F16/BF16/Q8_0/Q4_K/Q6_K weights and the embedding gather for every
 * type. Weight rows are dequantized with @bitnet/models' tested codecs a few rows at a time into a
 * scratch Float32Array and reused for every activation row; dot products accumulate in doubles (the
 * products of two f32 values are exact in a double) and round to f32 once — except F16 weights, whose
 * dot products are ggml_vec_dot_f16's exactly (32 f32 FMA lanes, its reduction, the tail in double).
 */
import { GgmlType, dequantizeRowsInto } from '@bitnet/models';
import type { FloatMatrix, TernaryMatrix } from '../api/Kernels';
import { fmaf, reduceF16Acc } from './GgmlF32';

/** Weight rows dequantized per call of the codec (amortizes its checks and subarray views). */
const ROW_CHUNK = 16;

export function matmulFloat(w: FloatMatrix, x: Float32Array, xRows: number, out: Float32Array): void {
  const N = w.rows;
  const K = w.cols;
  const chunk = Math.min(ROW_CHUNK, N);
  const rows = new Float32Array(chunk * K);
  const acc = new Float64Array(32);
  const f16 = w.type === GgmlType.F16;
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const count = Math.min(chunk, N - n0);
    dequantizeRowsInto(w.type, w.data, K, n0, count, rows, N * K);
    for (let r = 0; r < count; r++)
      for (let m = 0; m < xRows; m++) out[m * N + n0 + r] = f16 ? dotF16Ggml(rows, r * K, x, m * K, K, acc) : dotF64(rows, r * K, x, m * K, K);
  }
}

/**
 * out[j] = matmulFloat's element (xRow[j], wRow[j]): the same per-element functions on the same
 * dequantized row, so the same bits. A row is dequantized once for a run of picks of that row.
 */
export function matmulFloatPicked(w: FloatMatrix, x: Float32Array, xRows: number, wRow: Int32Array, xRow: Int32Array, out: Float32Array): void {
  const K = w.cols;
  const row = new Float32Array(K);
  const acc = new Float64Array(32);
  const f16 = w.type === GgmlType.F16;
  let loaded = -1;
  for (let j = 0; j < wRow.length; j++) {
    const n = wRow[j];
    if (n !== loaded) {
      dequantizeRowsInto(w.type, w.data, K, n, 1, row, w.rows * K);
      loaded = n;
    }
    const xo = xRow[j] * K;
    out[j] = f16 ? dotF16Ggml(row, 0, x, xo, K, acc) : dotF64(row, 0, x, xo, K);
  }
}

/** Σ w·x in two interleaved double sums (each product of two f32 values is exact), added at the end; the caller rounds to f32. */
function dotF64(w: Float32Array, wo: number, x: Float32Array, xo: number, K: number): number {
  let s0 = 0;
  let s1 = 0;
  let k = 0;
  for (; k + 1 < K; k += 2) {
    s0 += w[wo + k] * x[xo + k];
    s1 += w[wo + k + 1] * x[xo + k + 1];
  }
  if (k < K) s0 += w[wo + k] * x[xo + k];
  return s0 + s1;
}

/** ggml_vec_dot_f16's arithmetic on f32 inputs: lane i mod 32 of i < K & ~31 by fmaf, reduceF16Acc, tail Σ fround(w·x) in double. */
function dotF16Ggml(w: Float32Array, wo: number, x: Float32Array, xo: number, K: number, acc: Float64Array): number {
  acc.fill(0);
  const np = K & ~31;
  for (let i = 0; i < np; i++) acc[i & 31] = fmaf(w[wo + i], x[xo + i], acc[i & 31]);
  let sum = reduceF16Acc(acc);
  for (let i = np; i < K; i++) sum += Math.fround(w[wo + i] * x[xo + i]);
  return Math.fround(sum);
}

/** out[i·cols ..] = dequant(row ids[i]) for any float, k-quant or ternary matrix. */
export function getRows(w: FloatMatrix | TernaryMatrix, ids: Int32Array, out: Float32Array): void {
  const K = w.cols;
  const total = w.rows * K;
  for (let i = 0; i < ids.length; i++) {
    dequantizeRowsInto(w.type, w.data, K, ids[i], 1, out.subarray(i * K, (i + 1) * K), total);
  }
}
