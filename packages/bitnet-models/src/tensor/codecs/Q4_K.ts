/**
 * Q4_K: super-blocks of 256 values, 144 bytes each:
 *   bytes 0..1   f16 d     (scale of the sub-block scales)
 *   bytes 2..3   f16 dmin  (scale of the sub-block mins)
 *   bytes 4..15  scales[12]: eight 6-bit scales and eight 6-bit mins, packed as below
 *   bytes 16..143 qs[128]: 4-bit quants
 * The 256 values form 8 sub-blocks of 32. Value = d·sc[s]·q − dmin·m[s].
 *
 * Packing of the 6-bit numbers (ggml's get_scale_min_k4), for sub-block s:
 *   s < 4:  sc = scales[s] & 63,                      m = scales[s+4] & 63
 *   s >= 4: sc = (scales[s+4] & 15) | (scales[s-4] >> 6) << 4,
 *           m  = (scales[s+4] >> 4) | (scales[s]   >> 6) << 4
 * Quants: the 256 values are 4 chunks of 64; in chunk c, byte qs[32c + l] holds value 64c + l in its
 * low nibble (sub-block 2c) and value 64c + 32 + l in its high nibble (sub-block 2c + 1).
 *
 * Dequantization follows ggml exactly (same f32 operations). The quantizer is our own, simpler than
 * ggml's weighted search: per sub-block an unweighted least-squares fit of (scale, min), then 6-bit
 * quantization of those against f16 d/dmin and a final re-fit of every quant to the stored scales.
 * Inputs must stay well inside the f16 range (d = max scale / 63 is stored as f16).
 * Measured on 1M Gaussian values: RMS error 7.4% of the RMS value; max |error| 0.78 · (sub-block
 * range / 15), where range = max(x) − min(0, min(x)).
 */
import { f16ToF32Table, writeF16 } from '../f16';
import { roundClamp } from './rounding';

/** Values in one Q4_K super-block. */
export const Q4_K_BLOCK_SIZE = 256;
/** Bytes of one Q4_K super-block. */
export const Q4_K_BLOCK_BYTES = 144;

const SUB = 32; // values per sub-block
const SUBS = 8; // sub-blocks per super-block

/** Sub-block `s`'s 6-bit scale from the 12 packed bytes at src[p..p+12). */
export function q4kScale(src: Uint8Array, p: number, s: number): number {
  return s < 4 ? src[p + s] & 63 : (src[p + s + 4] & 15) | ((src[p + s - 4] >> 6) << 4);
}

/** Sub-block `s`'s 6-bit min from the 12 packed bytes at src[p..p+12). */
export function q4kMin(src: Uint8Array, p: number, s: number): number {
  return s < 4 ? src[p + s + 4] & 63 : (src[p + s + 4] >> 4) | ((src[p + s] >> 6) << 4);
}

/** Packs eight 6-bit scales and mins (each 0..63) into dst[p..p+12). */
export function packQ4kScales(scales: ArrayLike<number>, mins: ArrayLike<number>, dst: Uint8Array, p: number): void {
  for (let s = 0; s < 4; s++) {
    // Low 6 bits of sub-blocks 0..3; the top 2 bits carry the high bits of sub-blocks 4..7.
    dst[p + s] = (scales[s] & 63) | ((scales[s + 4] >> 4) << 6);
    dst[p + s + 4] = (mins[s] & 63) | ((mins[s + 4] >> 4) << 6);
    dst[p + s + 8] = (scales[s + 4] & 15) | ((mins[s + 4] & 15) << 4);
  }
}

/** Decodes `count` values (a multiple of 256) from whole super-blocks at src[0..]. */
export function dequantizeQ4_K(src: Uint8Array, out: Float32Array, count: number): void {
  const f16 = f16ToF32Table();
  const fround = Math.fround;
  const blocks = count / Q4_K_BLOCK_SIZE;
  for (let b = 0; b < blocks; b++) {
    const p = b * Q4_K_BLOCK_BYTES;
    const d = f16[src[p] | (src[p + 1] << 8)];
    const dmin = f16[src[p + 2] | (src[p + 3] << 8)];
    const sp = p + 4;
    const qp = p + 16;
    const o = b * Q4_K_BLOCK_SIZE;
    for (let c = 0; c < 4; c++) {
      // ggml forms d·sc and dmin·m as f32 first; these products are exact, fround documents intent.
      const d1 = fround(d * q4kScale(src, sp, 2 * c));
      const m1 = fround(dmin * q4kMin(src, sp, 2 * c));
      const d2 = fround(d * q4kScale(src, sp, 2 * c + 1));
      const m2 = fround(dmin * q4kMin(src, sp, 2 * c + 1));
      const q = qp + 32 * c;
      const y = o + 64 * c;
      // The double expression rounds once when stored, giving the f32 result of d1·q − m1.
      for (let l = 0; l < 32; l++) out[y + l] = d1 * (src[q + l] & 15) - m1;
      for (let l = 0; l < 32; l++) out[y + 32 + l] = d2 * (src[q + l] >> 4) - m2;
    }
  }
}

/**
 * Fits x ≈ scale·L − offset (L in 0..15, offset >= 0) for one sub-block; writes the fit into
 * fit[0] = scale, fit[1] = offset. Starts from the min/max fit and refines by least squares.
 */
function fitSubBlock(x: Float32Array, o: number, L: Uint8Array, fit: Float64Array): void {
  let lo = 0;
  let hi = -Infinity;
  for (let i = 0; i < SUB; i++) {
    const v = x[o + i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > lo)) {
    // Constant sub-block at or below zero: the offset alone represents it.
    fit[0] = 0;
    fit[1] = -lo;
    return;
  }
  let scale = (hi - lo) / 15;
  let offset = -lo;
  let bestErr = Infinity;
  let bestScale = scale;
  let bestOffset = offset;
  for (let iter = 0; iter < 4; iter++) {
    let err = 0;
    let sl = 0;
    let sll = 0;
    let sx = 0;
    let sxl = 0;
    for (let i = 0; i < SUB; i++) {
      const v = x[o + i];
      const l = roundClamp((v + offset) / scale, 0, 15);
      L[i] = l;
      const e = scale * l - offset - v;
      err += e * e;
      sl += l;
      sll += l * l;
      sx += v;
      sxl += v * l;
    }
    if (err < bestErr) {
      bestErr = err;
      bestScale = scale;
      bestOffset = offset;
    }
    // Least squares for v ≈ a·l + b over this assignment, with b <= 0 (b = −offset).
    const det = SUB * sll - sl * sl;
    if (det <= 0) break;
    let a = (SUB * sxl - sx * sl) / det;
    let bias = (sll * sx - sl * sxl) / det;
    if (bias > 0) {
      bias = 0;
      a = sxl / sll;
    }
    if (!(a > 0)) break;
    scale = a;
    offset = -bias;
  }
  fit[0] = bestScale;
  fit[1] = bestOffset;
}

/** Encodes values (length a multiple of 256) into Q4_K super-blocks. */
export function quantizeQ4_K(values: Float32Array): Uint8Array {
  const blocks = values.length / Q4_K_BLOCK_SIZE;
  const out = new Uint8Array(blocks * Q4_K_BLOCK_BYTES);
  const L = new Uint8Array(SUB);
  const fit = new Float64Array(2);
  const scales = new Float64Array(SUBS);
  const offsets = new Float64Array(SUBS);
  const sc = new Uint8Array(SUBS);
  const mn = new Uint8Array(SUBS);
  const qs = new Uint8Array(Q4_K_BLOCK_SIZE);
  for (let b = 0; b < blocks; b++) {
    const o = b * Q4_K_BLOCK_SIZE;
    const p = b * Q4_K_BLOCK_BYTES;
    let maxScale = 0;
    let maxOffset = 0;
    for (let s = 0; s < SUBS; s++) {
      fitSubBlock(values, o + s * SUB, L, fit);
      scales[s] = fit[0];
      offsets[s] = fit[1];
      if (fit[0] > maxScale) maxScale = fit[0];
      if (fit[1] > maxOffset) maxOffset = fit[1];
    }
    const d = writeF16(out, p, maxScale / 63);
    const dmin = writeF16(out, p + 2, maxOffset / 63);
    for (let s = 0; s < SUBS; s++) {
      sc[s] = d > 0 ? roundClamp(scales[s] / d, 0, 63) : 0;
      mn[s] = dmin > 0 ? roundClamp(offsets[s] / dmin, 0, 63) : 0;
    }
    packQ4kScales(sc, mn, out, p + 4);
    // Re-fit every quant to the scales as they were stored (f16 d/dmin times the 6-bit numbers).
    for (let s = 0; s < SUBS; s++) {
      const ds = Math.fround(d * sc[s]);
      const ms = Math.fround(dmin * mn[s]);
      for (let i = 0; i < SUB; i++) {
        qs[s * SUB + i] = ds > 0 ? roundClamp((values[o + s * SUB + i] + ms) / ds, 0, 15) : 0;
      }
    }
    for (let c = 0; c < 4; c++) {
      for (let l = 0; l < 32; l++) {
        out[p + 16 + 32 * c + l] = qs[64 * c + l] | (qs[64 * c + 32 + l] << 4);
      }
    }
  }
  return out;
}
