/**
 * Ternary weights × int8 activations, straight from the packed bytes (never through floats, so the
 * integer sums are exact), then the float epilogue of api/Kernels.ts in its written order:
 * - I2_S × per-token int8:  out = fround(fround(fround(Σ c·q − sums[m]) / scales[m]) · ws)
 * - TQ2_0 / TQ1_0 × Q8_K:   acc = fround(acc + fround(isum_b · fround(dw_b · da_b))) over the blocks
 * One weight row's packed bytes (640 for K = 2560) stay in L1 while every activation row reads them.
 * Codes are weighted as stored: a stray 2-bit code 3 counts as +2, like the dequantizers and ggml.
 */
import { f16ToF32Table, readI2SScale } from '@bitnet/models';
import type { I8Activations, Q8KActivations, TernaryMatrix } from '../api/Kernels';

const fround = Math.fround;

/** Σ_k c[k]·q[qo + k] over one I2_S row of K codes starting at byte p (blocks of 128 = 32 bytes). */
export function i2sCodeDot(data: Uint8Array, p: number, q: Int8Array, qo: number, K: number): number {
  let d0 = 0;
  let d1 = 0;
  for (let o = qo; o < qo + K; o += 128, p += 32) {
    // Byte m of a block holds values m, m + 32, m + 64, m + 96 at shifts 6, 4, 2, 0.
    for (let m = 0; m < 32; m++) {
      const b = data[p + m];
      const k = o + m;
      d0 = (d0 + (b >> 6) * q[k] + ((b >> 4) & 3) * q[k + 32]) | 0;
      d1 = (d1 + ((b >> 2) & 3) * q[k + 64] + (b & 3) * q[k + 96]) | 0;
    }
  }
  return d0 + d1;
}

export function matmulI2sI8(w: TernaryMatrix, a: I8Activations, out: Float32Array): void {
  const N = w.rows;
  const K = w.cols;
  const rowBytes = K / 4;
  const ws = readI2SScale(w.data, N * rowBytes);
  for (let n = 0; n < N; n++) {
    const p = n * rowBytes;
    for (let m = 0; m < a.rows; m++) {
      const dot = i2sCodeDot(w.data, p, a.qs, m * K, K);
      out[m * N + n] = fround(fround(fround(dot - a.sums[m]) / a.scales[m]) * ws);
    }
  }
}

/** Σ a over each 256-block of every activation row (from qs, not bsums): isum = Σ q·a − Σ a. */
function blockSums(a: Q8KActivations): Int32Array {
  const blocks = (a.rows * a.cols) / 256;
  const sums = new Int32Array(blocks);
  for (let b = 0; b < blocks; b++) {
    let s = 0;
    for (let j = b * 256; j < b * 256 + 256; j++) s += a.qs[j];
    sums[b] = s;
  }
  return sums;
}

/** Σ_j q_j·a[ao + j] over one TQ2_0 block at byte p (codes q ∈ 0..3, not yet shifted by −1). */
export function tq2CodeDot(data: Uint8Array, p: number, a: Int8Array, ao: number): number {
  let d0 = 0;
  let d1 = 0;
  for (let c = 0; c < 2; c++) {
    // Byte 32c + j holds values 128c + j + 32n at shift 2n.
    const o = ao + 128 * c;
    const pc = p + 32 * c;
    for (let j = 0; j < 32; j++) {
      const b = data[pc + j];
      const k = o + j;
      d0 = (d0 + (b & 3) * a[k] + ((b >> 2) & 3) * a[k + 32]) | 0;
      d1 = (d1 + ((b >> 4) & 3) * a[k + 64] + (b >> 6) * a[k + 96]) | 0;
    }
  }
  return d0 + d1;
}

/** TRITS[5·b + n] = trit n (0..2, n = 0 most significant) of a TQ1_0 byte b: ((b·3^n) mod 256)·3 >> 8. */
const TRITS = ((): Uint8Array => {
  const t = new Uint8Array(256 * 5);
  for (let b = 0; b < 256; b++) {
    for (let n = 0, pow = 1; n < 5; n++, pow *= 3) t[5 * b + n] = (((b * pow) & 255) * 3) >> 8;
  }
  return t;
})();

/** Σ_j q_j·a[ao + j] over one TQ1_0 block at byte p (trits q ∈ 0..2, not yet shifted by −1). */
export function tq1CodeDot(data: Uint8Array, p: number, a: Int8Array, ao: number): number {
  let dot = 0;
  // qs[0..31]: byte m holds values m + 32n, n = 0..4.
  for (let m = 0; m < 32; m++) {
    const t = 5 * data[p + m];
    const k = ao + m;
    dot = (dot + TRITS[t] * a[k] + TRITS[t + 1] * a[k + 32] + TRITS[t + 2] * a[k + 64] + TRITS[t + 3] * a[k + 96] + TRITS[t + 4] * a[k + 128]) | 0;
  }
  // qs[32..47]: byte 32 + m holds values 160 + m + 16n.
  for (let m = 0; m < 16; m++) {
    const t = 5 * data[p + 32 + m];
    const k = ao + 160 + m;
    dot = (dot + TRITS[t] * a[k] + TRITS[t + 1] * a[k + 16] + TRITS[t + 2] * a[k + 32] + TRITS[t + 3] * a[k + 48] + TRITS[t + 4] * a[k + 64]) | 0;
  }
  // qh[0..3]: byte 48 + j holds values 240 + j + 4n, n = 0..3 (the fifth trit is padding).
  for (let j = 0; j < 4; j++) {
    const t = 5 * data[p + 48 + j];
    const k = ao + 240 + j;
    dot = (dot + TRITS[t] * a[k] + TRITS[t + 1] * a[k + 4] + TRITS[t + 2] * a[k + 8] + TRITS[t + 3] * a[k + 12]) | 0;
  }
  return dot;
}

type BlockDot = (data: Uint8Array, p: number, a: Int8Array, ao: number) => number;

/** The Q8_K epilogue shared by TQ2_0 and TQ1_0: blocks of `blockBytes` with the f16 d at `dOffset`. */
function matmulTqQ8K(w: TernaryMatrix, a: Q8KActivations, out: Float32Array, blockBytes: number, dOffset: number, dot: BlockDot): void {
  const f16 = f16ToF32Table();
  const N = w.rows;
  const nb = w.cols / 256;
  const data = w.data;
  const asums = blockSums(a);
  for (let n = 0; n < N; n++) {
    const rowStart = n * nb * blockBytes;
    for (let m = 0; m < a.rows; m++) {
      let acc = 0;
      for (let b = 0, p = rowStart; b < nb; b++, p += blockBytes) {
        const ab = m * nb + b;
        const isum = dot(data, p, a.qs, ab * 256) - asums[ab];
        const dw = f16[data[p + dOffset] | (data[p + dOffset + 1] << 8)];
        acc = fround(acc + fround(isum * fround(dw * a.d[ab])));
      }
      out[m * N + n] = acc;
    }
  }
}

export function matmulTq2_0Q8K(w: TernaryMatrix, a: Q8KActivations, out: Float32Array): void {
  matmulTqQ8K(w, a, out, 66, 64, tq2CodeDot);
}

export function matmulTq1_0Q8K(w: TernaryMatrix, a: Q8KActivations, out: Float32Array): void {
  matmulTqQ8K(w, a, out, 54, 52, tq1CodeDot);
}
