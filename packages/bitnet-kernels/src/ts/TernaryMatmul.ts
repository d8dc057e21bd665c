/**
 * Ternary weights × int8 activations, straight from the packed bytes (never through floats, so the
 * integer sums are exact), then the float epilogue of api/Kernels.ts in its written order:
 * - I2_S × per-token int8:  out = fround(fround(fround(Σ c·q − sums[m]) / scales[m]) · ws)
 * - TQ2_0 / TQ1_0 × Q8_K:   ggml's AVX2 vec_dot_tq*_q8_K: 8 integer lanes per block, each lane
 *   accumulated with an f32 FMA by d_b = fround(da_b · dw_b) across the blocks, then hsum_float_8
 * One weight row's packed bytes (640 for K = 2560) stay in L1 while every activation row reads them.
 * Codes are weighted as stored: a stray 2-bit code 3 counts as +2, like the dequantizers and ggml.
 */
import { f16ToF32Table, readI2SScale } from '@bitnet/models';
import type { I8Activations, Q8KActivations, TernaryMatrix } from '../api/Kernels';
import { scaleOutput } from './Elementwise';
import { fmaf, hsum8 } from './GgmlF32';

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

export function matmulI2sI8(w: TernaryMatrix, a: I8Activations, out: Float32Array, scale?: number): void {
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
  scaleOutput(out, scale);
}

/**
 * Σ a over each 32-element group of every activation row (from qs, not bsums): the amount ggml's
 * AVX2 TQ dot subtracts from lane k of a block is bsums[2k] + bsums[2k+1] = Σ a[32k .. 32k+31].
 */
function groupSums(a: Q8KActivations): Int32Array {
  const groups = (a.rows * a.cols) / 32;
  const sums = new Int32Array(groups);
  for (let g = 0; g < groups; g++) {
    let s = 0;
    for (let j = g * 32; j < g * 32 + 32; j++) s += a.qs[j];
    sums[g] = s;
  }
  return sums;
}

/**
 * The 8 lane sums of one TQ2_0 block (codes q ∈ 0..3 as stored, not shifted by −1):
 * lanes[k] += Σ q_e·a[ao + e] over the elements e of the block with (e mod 32) >> 2 == k.
 * Element e = 128c + 32n + j is the 2-bit field at bits 2n of byte 32c + j; j >> 2 is its lane.
 */
export function tq2CodeLanes(data: Uint8Array, p: number, a: Int8Array, ao: number, lanes: Int32Array): void {
  for (let c = 0; c < 2; c++) {
    const o = ao + 128 * c;
    const pc = p + 32 * c;
    for (let j = 0; j < 32; j++) {
      const b = data[pc + j];
      const k = o + j;
      lanes[j >> 2] += (b & 3) * a[k] + ((b >> 2) & 3) * a[k + 32] + ((b >> 4) & 3) * a[k + 64] + (b >> 6) * a[k + 96];
    }
  }
}

/** Σ_j q_j·a[ao + j] over one TQ2_0 block at byte p (codes q ∈ 0..3, not yet shifted by −1). */
export function tq2CodeDot(data: Uint8Array, p: number, a: Int8Array, ao: number): number {
  const lanes = new Int32Array(8);
  tq2CodeLanes(data, p, a, ao, lanes);
  return lanes.reduce((x, y) => x + y, 0);
}

/** TRITS[5·b + n] = trit n (0..2, n = 0 most significant) of a TQ1_0 byte b: ((b·3^n) mod 256)·3 >> 8. */
const TRITS = ((): Uint8Array => {
  const t = new Uint8Array(256 * 5);
  for (let b = 0; b < 256; b++) {
    for (let n = 0, pow = 1; n < 5; n++, pow *= 3) t[5 * b + n] = (((b * pow) & 255) * 3) >> 8;
  }
  return t;
})();

/** The 8 lane sums of one TQ1_0 block (trits q ∈ 0..2): as tq2CodeLanes, lane (e mod 32) >> 2. */
export function tq1CodeLanes(data: Uint8Array, p: number, a: Int8Array, ao: number, lanes: Int32Array): void {
  // qs[0..31]: byte m holds values m + 32n, n = 0..4 (lane m >> 2).
  for (let m = 0; m < 32; m++) {
    const t = 5 * data[p + m];
    const k = ao + m;
    lanes[m >> 2] += TRITS[t] * a[k] + TRITS[t + 1] * a[k + 32] + TRITS[t + 2] * a[k + 64] + TRITS[t + 3] * a[k + 96] + TRITS[t + 4] * a[k + 128];
  }
  // qs[32..47]: byte 32 + m holds values 160 + m + 16n (element mod 32 = m + 16n mod 32).
  for (let m = 0; m < 16; m++) {
    const t = 5 * data[p + 32 + m];
    const k = ao + 160 + m;
    const lo = m >> 2; // values 160 + m, 192 + m, 224 + m
    const hi = (m + 16) >> 2; // values 176 + m, 208 + m
    lanes[lo] += TRITS[t] * a[k] + TRITS[t + 2] * a[k + 32] + TRITS[t + 4] * a[k + 64];
    lanes[hi] += TRITS[t + 1] * a[k + 16] + TRITS[t + 3] * a[k + 48];
  }
  // qh[0..3]: byte 48 + j holds values 240 + j + 4n, n = 0..3 (element mod 32 = 16 + j + 4n; the fifth trit is padding).
  for (let j = 0; j < 4; j++) {
    const t = 5 * data[p + 48 + j];
    const k = ao + 240 + j;
    lanes[4] += TRITS[t] * a[k];
    lanes[5] += TRITS[t + 1] * a[k + 4];
    lanes[6] += TRITS[t + 2] * a[k + 8];
    lanes[7] += TRITS[t + 3] * a[k + 12];
  }
}

/** Σ_j q_j·a[ao + j] over one TQ1_0 block at byte p (trits q ∈ 0..2, not yet shifted by −1). */
export function tq1CodeDot(data: Uint8Array, p: number, a: Int8Array, ao: number): number {
  const lanes = new Int32Array(8);
  tq1CodeLanes(data, p, a, ao, lanes);
  return lanes.reduce((x, y) => x + y, 0);
}

type BlockLanes = (data: Uint8Array, p: number, a: Int8Array, ao: number, lanes: Int32Array) => void;

/**
 * The Q8_K epilogue shared by TQ2_0 and TQ1_0 (ggml_vec_dot_tq*_q8_K, AVX2): per block b the 8 lane
 * integers L_k = lanes_k − Σ a[32k .. 32k+31], d_b = fround(da_b · dw_b), acc_k = fmaf(L_k, d_b, acc_k);
 * the row's value is hsum8(acc). Blocks of `blockBytes` with the f16 d at `dOffset`.
 */
function matmulTqQ8K(w: TernaryMatrix, a: Q8KActivations, out: Float32Array, blockBytes: number, dOffset: number, lanesOf: BlockLanes): void {
  const f16 = f16ToF32Table();
  const N = w.rows;
  const nb = w.cols / 256;
  const data = w.data;
  const gsums = groupSums(a);
  const lanes = new Int32Array(8);
  const acc = new Float64Array(8);
  for (let n = 0; n < N; n++) {
    const rowStart = n * nb * blockBytes;
    for (let m = 0; m < a.rows; m++) {
      acc.fill(0);
      for (let b = 0, p = rowStart; b < nb; b++, p += blockBytes) {
        const ab = m * nb + b;
        lanes.fill(0);
        lanesOf(data, p, a.qs, ab * 256, lanes);
        const d = fround(a.d[ab] * f16[data[p + dOffset] | (data[p + dOffset + 1] << 8)]);
        for (let k = 0; k < 8; k++) acc[k] = fmaf(lanes[k] - gsums[ab * 8 + k], d, acc[k]);
      }
      out[m * N + n] = hsum8(acc);
    }
  }
}

export function matmulTq2_0Q8K(w: TernaryMatrix, a: Q8KActivations, out: Float32Array, scale?: number): void {
  matmulTqQ8K(w, a, out, 66, 64, tq2CodeLanes);
  scaleOutput(out, scale);
}

export function matmulTq1_0Q8K(w: TernaryMatrix, a: Q8KActivations, out: Float32Array, scale?: number): void {
  matmulTqQ8K(w, a, out, 54, 52, tq1CodeLanes);
  scaleOutput(out, scale);
}
