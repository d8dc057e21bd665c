/**
 * screenBoundsQ8_0 (api/Kernels.ts): per row of an F32/F16/BF16 matrix w and its Q8_0 copy q, the
 * largest |w − ŵ|, the largest Σ|ŵ| of a block and the largest magnitude of either, each rounded up
 * to f32. ŵ = d·q and |d|·Σ|q| are exact in double; w − ŵ is carried as a TwoSum pair (its double
 * and the rounding error), so the rounding up is right even when the double difference is not exact.
 * Each bound is the smallest f32 at or above an exact value: the native kernel
 * (native/src/convert/screen_bounds.cpp) reaches the same bits per element in f32.
 */
import { dequantizeRowsInto, f16ToF32 } from '@bitnet/models';
import type { FloatMatrix } from '../api/Kernels';

// Builtins read once (a global lookup per element is slow in some sandboxes, jest's among them).
const fround = Math.fround;
const abs = Math.abs;
const BLOCK = 32;
const BLOCK_BYTES = 34;

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** The smallest f32 above f (f an f32 value ≥ 0, finite). */
function nextUpF32(f: number): number {
  f32Scratch[0] = f;
  u32Scratch[0] = f === 0 ? 1 : u32Scratch[0] + 1;
  return f32Scratch[0];
}

/** The smallest f32 ≥ hi + lo, for hi the double nearest the exact hi + lo (lo: its error, 0 when exact); NaN for NaN. */
export function roundUpF32(hi: number, lo = 0): number {
  if (hi !== hi) return NaN;
  const f = fround(hi);
  if (f < hi || (f === hi && lo > 0 && f !== Infinity)) return nextUpF32(f);
  return f;
}

/** The larger of m and v, NaN once either has been NaN (m: a running maximum). */
const maxNaN = (m: number, v: number): number => (v > m || v !== v ? v : m);

export function screenBoundsQ8_0(w: FloatMatrix, q: FloatMatrix, out: Float32Array): void {
  const K = w.cols;
  const blocks = K / BLOCK;
  const row = new Float32Array(K);
  const qd = q.data;
  for (let n = 0; n < w.rows; n++) {
    dequantizeRowsInto(w.type, w.data, K, n, 1, row, w.rows * K);
    let diffHi = 0; // max |w − ŵ| as the double of the largest exact value ...
    let diffUp = false; // ... and whether that exact value lies above its double
    let blockMax = 0;
    let magMax = 0;
    for (let b = 0; b < blocks; b++) {
      const p = (n * blocks + b) * BLOCK_BYTES;
      const d = f16ToF32(qd[p] | (qd[p + 1] << 8));
      let qSum = 0;
      for (let i = 0; i < BLOCK; i++) {
        const qi = (qd[p + 2 + i] << 24) >> 24;
        qSum += abs(qi);
        const wk = row[b * BLOCK + i];
        const wh = d * qi; // exact: an f16 value times an int8
        // TwoSum of wk + (−wh): s the rounded difference, e its error (s + e is exact)
        const s = wk - wh;
        const bv = s - wk;
        const e = wk - (s - bv) + (-wh - bv);
        const h = abs(s);
        const up = (s >= 0 ? e : -e) > 0;
        if (h > diffHi || h !== h) {
          diffHi = h;
          diffUp = up;
        } else if (h === diffHi && up) diffUp = true;
        const aw = abs(wk);
        const ah = abs(wh);
        magMax = maxNaN(magMax, aw !== aw || ah !== ah ? NaN : aw > ah ? aw : ah);
      }
      blockMax = maxNaN(blockMax, abs(d) * qSum); // exact: an f16 value times an integer < 2^13
    }
    out[3 * n] = roundUpF32(diffHi, diffUp ? 1 : 0);
    out[3 * n + 1] = roundUpF32(blockMax);
    out[3 * n + 2] = roundUpF32(magMax);
  }
}
