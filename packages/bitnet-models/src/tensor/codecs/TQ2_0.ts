/**
 * TQ2_0: blocks of 256 ternary values, 66 bytes each: qs[64] then f16 d.
 * Value j + 32n + 128c (c in 0..1, n in 0..3, j in 0..31) is the 2-bit field at bit 2n of
 * qs[32c + j]; value = (q − 1) · d with q in 0..2 (a stored 3 decodes as 2·d, as in ggml).
 *
 * The quantizer matches ggml's quantize_row_tq2_0_ref: d = max|x| (stored as f16), q = lroundf(x · (1/d)) + 1
 * in f32 arithmetic, so inputs that are trits × a scale representable in f16 round-trip exactly.
 */
import { f16ToF32Table, writeF16 } from '../f16';
import { ternarizeBlock } from './ternary';

/** Values in one TQ2_0 block. */
export const TQ2_0_BLOCK_SIZE = 256;
/** Bytes of one TQ2_0 block. */
export const TQ2_0_BLOCK_BYTES = 66;

const D = 64;

/** Decodes `count` values (a multiple of 256) from whole blocks at src[0..]. */
export function dequantizeTQ2_0(src: Uint8Array, out: Float32Array, count: number): void {
  const f16 = f16ToF32Table();
  const blocks = count / TQ2_0_BLOCK_SIZE;
  for (let b = 0; b < blocks; b++) {
    const p = b * TQ2_0_BLOCK_BYTES;
    const d = f16[src[p + D] | (src[p + D + 1] << 8)];
    const o = b * TQ2_0_BLOCK_SIZE;
    for (let c = 0; c < 2; c++) {
      for (let n = 0; n < 4; n++) {
        const y = o + 128 * c + 32 * n;
        const shift = 2 * n;
        for (let j = 0; j < 32; j++) out[y + j] = (((src[p + 32 * c + j] >> shift) & 3) - 1) * d;
      }
    }
  }
}

/**
 * Packs one block: 256 trits (−1, 0, +1) from trits[t..t+256) with scale d (rounded to f16) into
 * dst[p..p+66). Validation of the trits is the caller's job.
 */
export function encodeTQ2_0Block(trits: Int8Array, t: number, d: number, dst: Uint8Array, p: number): void {
  for (let c = 0; c < 2; c++) {
    for (let j = 0; j < 32; j++) {
      let byte = 0;
      for (let n = 0; n < 4; n++) byte |= (trits[t + 128 * c + 32 * n + j] + 1) << (2 * n);
      dst[p + 32 * c + j] = byte;
    }
  }
  writeF16(dst, p + D, d);
}

/** Encodes values (length a multiple of 256) into TQ2_0 blocks. */
export function quantizeTQ2_0(values: Float32Array): Uint8Array {
  const blocks = values.length / TQ2_0_BLOCK_SIZE;
  const out = new Uint8Array(blocks * TQ2_0_BLOCK_BYTES);
  const trits = new Int8Array(TQ2_0_BLOCK_SIZE);
  for (let b = 0; b < blocks; b++) {
    const d = ternarizeBlock(values, b * TQ2_0_BLOCK_SIZE, TQ2_0_BLOCK_SIZE, trits);
    encodeTQ2_0Block(trits, 0, d, out, b * TQ2_0_BLOCK_BYTES);
  }
  return out;
}
