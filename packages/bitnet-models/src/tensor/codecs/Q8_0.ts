/**
 * Q8_0: blocks of 32 values, 34 bytes each: f16 scale d, then 32 signed bytes q.
 * Value = q · d. The quantizer follows ggml's quantize_row_q8_0_ref step for step in f32
 * arithmetic (d = amax / 127, q = roundf(x · (1/d)), halves away from zero), so it produces the
 * same bytes as ggml for the same input.
 */
import { f16ToF32Table, writeF16 } from '../f16';
import { roundHalfAwayFromZero } from './rounding';

/** Values in one Q8_0 block. */
export const Q8_0_BLOCK_SIZE = 32;
/** Bytes of one Q8_0 block (an F16 scale and 32 int8 values). */
export const Q8_0_BLOCK_BYTES = 34;

/** Decodes `count` values (a multiple of 32) from whole blocks at src[0..]. */
export function dequantizeQ8_0(src: Uint8Array, out: Float32Array, count: number): void {
  const f16 = f16ToF32Table();
  const blocks = count / Q8_0_BLOCK_SIZE;
  for (let b = 0; b < blocks; b++) {
    const p = b * Q8_0_BLOCK_BYTES;
    const d = f16[src[p] | (src[p + 1] << 8)];
    const o = b * Q8_0_BLOCK_SIZE;
    for (let j = 0; j < Q8_0_BLOCK_SIZE; j++) {
      // (byte << 24) >> 24 sign-extends the stored two's-complement byte.
      out[o + j] = ((src[p + 2 + j] << 24) >> 24) * d;
    }
  }
}

/** Encodes values (length a multiple of 32) as Q8_0 blocks in the file layout (the weight encoder; the kernels' quantizeQ8_0 is the activation quantizer). */
export function encodeQ8_0Blocks(values: Float32Array): Uint8Array {
  const blocks = values.length / Q8_0_BLOCK_SIZE;
  const out = new Uint8Array(blocks * Q8_0_BLOCK_BYTES);
  const fround = Math.fround;
  for (let b = 0; b < blocks; b++) {
    const o = b * Q8_0_BLOCK_SIZE;
    let amax = 0;
    for (let j = 0; j < Q8_0_BLOCK_SIZE; j++) amax = Math.max(amax, Math.abs(values[o + j]));
    const d = fround(amax / 127);
    const id = d !== 0 ? fround(1 / d) : 0;
    const p = b * Q8_0_BLOCK_BYTES;
    writeF16(out, p, d);
    for (let j = 0; j < Q8_0_BLOCK_SIZE; j++) {
      // |x · id| <= 127 up to f32 rounding, so the result fits in a signed byte.
      out[p + 2 + j] = roundHalfAwayFromZero(fround(values[o + j] * id)) & 0xff;
    }
  }
  return out;
}
