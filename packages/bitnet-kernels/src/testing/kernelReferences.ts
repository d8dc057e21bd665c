/**
 * Straightforward references of the kernels, written from the contract (api/Kernels.ts) and the
 * @bitnet/models codecs, independent of both implementations; and expectClose, the relative
 * comparison the float kernels are held to. Test support only: not part of the published build.
 */
import { dequantize, f32ToF16, f16ToF32, GgmlType } from '@bitnet/models';
import type { FloatMatrix, I8Activations, Q8_0Activations, Q8KActivations, TernaryMatrix } from '../api/Kernels';

const fround = Math.fround;

// ---- straightforward references (written from the contract, independent of both implementations) ----

export function nearestInt(v: number): number {
  const f = Math.floor(v);
  const r = v - f;
  return r > 0.5 ? f + 1 : r < 0.5 ? f : f % 2 === 0 ? f : f + 1;
}

export function refQuantizeI8(x: Float32Array, rows: number, cols: number): I8Activations {
  const out: I8Activations = { rows, cols, qs: new Int8Array(rows * cols), scales: new Float32Array(rows), sums: new Int32Array(rows) };
  for (let r = 0; r < rows; r++) {
    let mx = 1e-5;
    for (let i = 0; i < cols; i++) mx = Math.max(mx, Math.abs(x[r * cols + i]));
    const s = fround(127 / mx);
    let sum = 0;
    for (let i = 0; i < cols; i++) {
      const q = Math.max(-128, Math.min(127, nearestInt(fround(x[r * cols + i] * s))));
      out.qs[r * cols + i] = q;
      sum += q;
    }
    out.scales[r] = s;
    out.sums[r] = sum;
  }
  return out;
}

export function refQuantizeQ8K(x: Float32Array, rows: number, cols: number): Q8KActivations {
  const n = rows * cols;
  const out: Q8KActivations = { rows, cols, qs: new Int8Array(n), d: new Float32Array(n / 256), bsums: new Int16Array(n / 16) };
  for (let b = 0; b < n / 256; b++) {
    let amax = 0;
    let mx = 0;
    for (let j = 0; j < 256; j++) {
      const v = x[b * 256 + j];
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        mx = v;
      }
    }
    if (amax === 0) continue; // d = 0, q = 0, bsums = 0
    const iscale = fround(-127 / mx);
    for (let j = 0; j < 256; j++) out.qs[b * 256 + j] = Math.min(127, nearestInt(fround(iscale * x[b * 256 + j])));
    for (let g = 0; g < 16; g++) {
      let s = 0;
      for (let j = 0; j < 16; j++) s += out.qs[b * 256 + g * 16 + j];
      out.bsums[b * 16 + g] = s;
    }
    out.d[b] = fround(1 / iscale);
  }
  return out;
}

/** Code (0..3) of element k of row n. */
export function i2sCode(w: TernaryMatrix, n: number, k: number): number {
  const e = n * w.cols + k;
  const j = e % 128;
  return (w.data[32 * Math.floor(e / 128) + (j % 32)] >> (6 - 2 * Math.floor(j / 32))) & 3;
}
export function tq2Code(w: TernaryMatrix, n: number, k: number): number {
  const blk = (n * w.cols) / 256 + Math.floor(k / 256);
  const e = k % 256;
  const c = Math.floor(e / 128);
  const f = Math.floor((e % 128) / 32);
  return (w.data[blk * 66 + 32 * c + (e % 32)] >> (2 * f)) & 3;
}
export function tq1Code(w: TernaryMatrix, n: number, k: number): number {
  const p = ((n * w.cols) / 256 + Math.floor(k / 256)) * 54;
  const e = k % 256;
  const trit = (byte: number, t: number) => (((byte * 3 ** t) & 255) * 3) >> 8;
  if (e < 160) return trit(w.data[p + (e % 32)], Math.floor(e / 32));
  if (e < 240) return trit(w.data[p + 32 + ((e - 160) % 16)], Math.floor((e - 160) / 16));
  return trit(w.data[p + 48 + ((e - 240) % 4)], Math.floor((e - 240) / 4));
}
export function blockScale(w: TernaryMatrix, n: number, b: number): number {
  const bytes = w.type === GgmlType.TQ2_0 ? 66 : 54;
  const p = ((n * w.cols) / 256 + b) * bytes + bytes - 2;
  return f16ToF32(w.data[p] | (w.data[p + 1] << 8));
}

export function refMatmulI2S(w: TernaryMatrix, a: I8Activations): Float32Array {
  const N = w.rows;
  const K = w.cols;
  const ws = new DataView(w.data.buffer, w.data.byteOffset).getFloat32((N * K) / 4, true);
  const out = new Float32Array(a.rows * N);
  const codes = new Uint8Array(K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) codes[k] = i2sCode(w, n, k);
    for (let m = 0; m < a.rows; m++) {
      let dot = 0;
      for (let k = 0; k < K; k++) dot += codes[k] * a.qs[m * K + k];
      out[m * N + n] = fround(fround(fround(dot - a.sums[m]) / a.scales[m]) * ws);
    }
  }
  return out;
}

export function refMatmulTQ(w: TernaryMatrix, a: Q8KActivations): Float32Array {
  const N = w.rows;
  const K = w.cols;
  const code = w.type === GgmlType.TQ2_0 ? tq2Code : tq1Code;
  const out = new Float32Array(a.rows * N);
  const codes = new Uint8Array(K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) codes[k] = code(w, n, k);
    for (let m = 0; m < a.rows; m++) {
      // ggml's AVX2 vec_dot_tq*_q8_K: 8 integer lanes per block, lane k = Σ code·a over elements with
      // (e mod 32) >> 2 == k minus Σ a over elements 32k..32k+31; f32 FMA per lane across blocks; hsum_float_8.
      // (fround(lane·d + acc): the product is exact in a double; no double-rounding case arises here.)
      const acc = [0, 0, 0, 0, 0, 0, 0, 0];
      for (let b = 0; b < K / 256; b++) {
        const lanes = [0, 0, 0, 0, 0, 0, 0, 0];
        for (let j = 0; j < 256; j++) {
          const q = a.qs[m * K + b * 256 + j];
          lanes[(j & 31) >> 2] += codes[b * 256 + j] * q;
          lanes[j >> 5] -= q;
        }
        const d = fround(a.d[(m * K) / 256 + b] * blockScale(w, n, b));
        for (let k = 0; k < 8; k++) acc[k] = fround(lanes[k] * d + acc[k]);
      }
      const h = [0, 1, 2, 3].map((i) => fround(acc[i] + acc[i + 4]));
      out[m * N + n] = fround(fround(h[0] + h[2]) + fround(h[1] + h[3]));
    }
  }
  return out;
}


/** Q8_0 activations as the contract writes them: d = f16(amax/127), q = nearestInt(fround(x · fround(127/amax))). */
export function refQuantizeQ8_0(x: Float32Array, rows: number, cols: number): Q8_0Activations {
  const n = rows * cols;
  const out: Q8_0Activations = { rows, cols, qs: new Int8Array(n), d: new Float32Array(n / 32) };
  for (let b = 0; b < n / 32; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]));
    out.d[b] = f16ToF32(f32ToF16(fround(amax / 127)));
    const id = amax > 0 ? fround(127 / amax) : 0;
    for (let j = 0; j < 32; j++) out.qs[b * 32 + j] = nearestInt(fround(x[b * 32 + j] * id));
  }
  return out;
}


/** ggml_vec_dot_q8_0_q8_0 (AVX2) as the contract writes it: 8 lanes of 4 products per block, f32 FMA by d_b, hsum_float_8. */
export function refMatmulQ8_0(w: FloatMatrix, a: Q8_0Activations): Float32Array {
  const N = w.rows;
  const K = w.cols;
  const nb = K / 32;
  const out = new Float32Array(a.rows * N);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < a.rows; m++) {
      const acc = [0, 0, 0, 0, 0, 0, 0, 0];
      for (let b = 0; b < nb; b++) {
        const p = (n * nb + b) * 34;
        const d = fround(f16ToF32(w.data[p] | (w.data[p + 1] << 8)) * a.d[m * nb + b]);
        for (let k = 0; k < 8; k++) {
          let lane = 0;
          for (let j = 4 * k; j < 4 * k + 4; j++) lane += ((w.data[p + 2 + j] << 24) >> 24) * a.qs[m * K + b * 32 + j];
          // lane·d is exact in a double (|lane| < 2^16, d an f32); one rounding of the sum is fmaf's.
          acc[k] = fround(lane * d + acc[k]);
        }
      }
      const h = [0, 1, 2, 3].map((i) => fround(acc[i] + acc[i + 4]));
      out[m * N + n] = fround(fround(h[0] + h[2]) + fround(h[1] + h[3]));
    }
  }
  return out;
}

/** out and Σ|w·x| per output, in double, from the @bitnet/models dequantizer. */
export function refMatmulFloat(w: FloatMatrix, x: Float32Array, M: number): { out: Float64Array; mag: Float64Array } {
  const W = dequantize(w.type, w.data, w.rows * w.cols);
  const out = new Float64Array(M * w.rows);
  const mag = new Float64Array(M * w.rows);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < w.rows; n++) {
      let s = 0;
      let a = 0;
      for (let k = 0; k < w.cols; k++) {
        const t = W[n * w.cols + k] * x[m * w.cols + k];
        s += t;
        a += Math.abs(t);
      }
      out[m * w.rows + n] = s;
      mag[m * w.rows + n] = a;
    }
  return { out, mag };
}

export function expectClose(got: Float32Array, want: ArrayLike<number>, mag: ArrayLike<number> | number, rel = 1e-5, what = ''): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < got.length; i++) {
    const m = typeof mag === 'number' ? mag : mag[i];
    const err = Math.abs(got[i] - want[i]) / Math.max(m, 1e-30);
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  if (!(worst <= rel)) throw new Error(`${what}: element ${at} is ${got[at]}, expected ${want[at]} (error ${worst.toExponential(2)} of its scale > ${rel})`);
}
