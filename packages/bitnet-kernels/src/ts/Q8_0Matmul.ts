/**
 * Q8_0 weights × Q8_0 activations (api/Kernels.ts matmulQ8_0Q8_0): ggml_vec_dot_q8_0_q8_0's AVX2
 * arithmetic — per 32-block 8 exact integer lanes of 4 products each, accumulated across blocks with
 * an f32 FMA by d_b = fround(dw_b · da_b), then hsum_float_8 — straight from the packed bytes.
 */
import { f16ToF32Table } from '@bitnet/models';
import type { FloatMatrix, Q8_0Activations } from '../api/Kernels';
import { scaleOutput } from './Elementwise';
import { fmaf, hsum8 } from './GgmlF32';

const fround = Math.fround;
const QK = 32;
const BLOCK_BYTES = 34;

export function matmulQ8_0Q8_0(w: FloatMatrix, a: Q8_0Activations, out: Float32Array, scale?: number): void {
  const f16 = f16ToF32Table();
  const N = w.rows;
  const K = w.cols;
  const nb = K / QK;
  const data = w.data;
  const qw = new Int8Array(data.buffer, data.byteOffset, data.byteLength);
  const qa = a.qs;
  const acc = new Float64Array(8);
  for (let n = 0; n < N; n++) {
    const rowStart = n * nb * BLOCK_BYTES;
    for (let m = 0; m < a.rows; m++) {
      acc.fill(0);
      for (let b = 0, p = rowStart; b < nb; b++, p += BLOCK_BYTES) {
        const d = fround(f16[data[p] | (data[p + 1] << 8)] * a.d[m * nb + b]);
        const ao = m * K + b * QK;
        for (let k = 0; k < 8; k++) {
          const e = 4 * k;
          const pw = p + 2 + e;
          const pa = ao + e;
          const lane = qw[pw] * qa[pa] + qw[pw + 1] * qa[pa + 1] + qw[pw + 2] * qa[pa + 2] + qw[pw + 3] * qa[pa + 3];
          acc[k] = fmaf(lane, d, acc[k]);
        }
      }
      out[m * N + n] = hsum8(acc);
    }
  }
  scaleOutput(out, scale);
}
