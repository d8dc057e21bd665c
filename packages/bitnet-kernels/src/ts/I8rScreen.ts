/**
 * The screened output's kernels (api/Kernels.ts): an I8r copy of a float matrix (int8 codes offset by
 * 128, one f32 scale per row), its rigorous per-row L2 bounds, the approximate logits it gives against
 * per-token int8 activations, and the candidate selection over one row of them. These are the
 * references the native kernels (native/src/ref, native/src/x86) match bit for bit.
 */
import { dequantizeRowsInto } from '@bitnet/models';
import type { FloatMatrix, I8Activations, I8rMatrix } from '../api/Kernels';

const fround = Math.fround;
const abs = Math.abs;
const LANES = 8;

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** The smallest f32 ≥ v (v a double ≥ 0 or NaN; +Infinity past the largest f32). */
export function roundUpToF32(v: number): number {
  const f = fround(v);
  if (!(f < v)) return f; // equal, NaN, or already above
  f32Scratch[0] = f;
  u32Scratch[0] = f === 0 ? 1 : u32Scratch[0] + 1; // f ≥ 0 here: the next f32 up
  return f32Scratch[0];
}

/** Round half away from zero (v: a finite double). */
const roundHalfAway = (v: number): number => (v >= 0 ? Math.floor(v + 0.5) : -Math.floor(0.5 - v));

export function encodeI8rRows(w: FloatMatrix, out: I8rMatrix): void {
  const K = w.cols;
  const row = new Float32Array(K);
  for (let n = 0; n < w.rows; n++) {
    dequantizeRowsInto(w.type, w.data, K, n, 1, row, w.rows * K);
    let amax = 0;
    for (let k = 0; k < K; k++) {
      const a = abs(row[k]);
      if (a > amax || a !== a) amax = a;
    }
    const d = fround(amax / 127);
    const id = d !== 0 ? fround(1 / d) : 0;
    const base = n * K;
    for (let k = 0; k < K; k++) {
      const q = roundHalfAway(fround(row[k] * id));
      out.codes[base + k] = (q > 127 ? 127 : q < -127 ? -127 : q) + 128; // NaN stores 0: unspecified
    }
    out.scales[n] = d;
  }
}

/** ((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7)) */
const combineLanes = (s: Float64Array): number => s[0] + s[4] + (s[2] + s[6]) + (s[1] + s[5] + (s[3] + s[7]));

/** An L2 norm from its 8-lane sum of squares S over `cols` terms, rounded up to f32 (see Kernels.ts). */
function normUp(S: number, cols: number): number {
  const padded = S * (1 + (cols + 8) * 2 ** -52);
  return roundUpToF32(Math.sqrt(padded) * (1 + 2 ** -52));
}

export function screenBoundsI8r(w: FloatMatrix, q: I8rMatrix, out: Float32Array): void {
  const K = w.cols;
  const row = new Float32Array(K);
  const errLanes = new Float64Array(LANES);
  const valLanes = new Float64Array(LANES);
  for (let n = 0; n < w.rows; n++) {
    dequantizeRowsInto(w.type, w.data, K, n, 1, row, w.rows * K);
    const scale = q.scales[n];
    errLanes.fill(0);
    valLanes.fill(0);
    const base = n * K;
    for (let k = 0; k < K; k++) {
      const wh = (q.codes[base + k] - 128) * scale; // exact: an 8-bit integer times an f32
      const e = row[k] - wh;
      errLanes[k & 7] += e * e;
      valLanes[k & 7] += wh * wh;
    }
    out[2 * n] = normUp(combineLanes(errLanes), K);
    out[2 * n + 1] = normUp(combineLanes(valLanes), K);
  }
}

export function matmulI8rI8(w: I8rMatrix, a: I8Activations, out: Float32Array): void {
  const K = w.cols;
  const N = w.rows;
  const codes = w.codes;
  for (let m = 0; m < a.rows; m++) {
    const qBase = m * K;
    const offset = 128 * a.sums[m];
    const sa = a.scales[m];
    for (let n = 0; n < N; n++) {
      const wBase = n * K;
      let dot = 0; // an integer below 2^31 in magnitude: exact in a double
      for (let k = 0; k < K; k++) dot += codes[wBase + k] * a.qs[qBase + k];
      out[m * N + n] = fround(fround(fround(dot - offset) / sa) * w.scales[n]);
    }
  }
}

export function screenCandidates(a: Float32Array, bounds: Float32Array, c0: number, c1: number, ids: Int32Array): number {
  const V = a.length;
  let floor = -Infinity;
  for (let n = 0; n < V; n++) {
    const lo = a[n] - (bounds[2 * n] * c0 + bounds[2 * n + 1] * c1);
    if (lo !== lo) return -1;
    if (lo > floor) floor = lo;
  }
  if (!Number.isFinite(floor)) return -1;
  const reach = floor - 1e-12 * (1 + abs(floor));
  let count = 0;
  for (let n = 0; n < V; n++) {
    if (a[n] + (bounds[2 * n] * c0 + bounds[2 * n + 1] * c1) >= reach) {
      if (count === ids.length) return -2;
      ids[count++] = n;
    }
  }
  return count;
}
