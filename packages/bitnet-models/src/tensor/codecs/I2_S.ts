/**
 * I2_S (bitnet.cpp, x86 file layout): the whole tensor, flattened row-major, is cut into blocks of
 * 128 values = 32 bytes. Value j (0..127) of a block is the 2-bit code at shift 6 − 2·(j / 32) of
 * byte j % 32. Codes 0, 1, 2 mean −1, 0, +1 (weight = (code − 1) · scale, so a stray code 3 reads as
 * +2 · scale). After the n/4 packed bytes come one little-endian f32 scale for the whole tensor and
 * 28 zero bytes.
 *
 * The quantizer uses scale = max|x| and code = lroundf(x · (1/scale)) + 1, like the TQ types.
 * bitnet.cpp's own quantizer instead takes the sign of every |x| >= 1e-6; both agree on inputs that
 * are trits × scale, which is what BitNet weights are.
 */
import { f32Bits, f32FromBits } from '../f16';
import { I2S_TRAILER_BYTES } from '../GgmlType';
import { roundHalfAwayFromZero } from './rounding';
import { absMax } from './ternary';

/** Values in one I2_S block. */
export const I2_S_BLOCK_SIZE = 128;
/** Bytes of one I2_S block. */
export const I2_S_BLOCK_BYTES = 32;

/** Packed bytes + trailer of a tensor of `count` values (count a multiple of 128). */
export function i2sTensorBytes(count: number): number {
  return count / 4 + I2S_TRAILER_BYTES;
}

/** The f32 scale stored right after `packedBytes` bytes of packed codes. */
export function readI2SScale(src: Uint8Array, packedBytes: number): number {
  const p = packedBytes;
  return f32FromBits((src[p] | (src[p + 1] << 8) | (src[p + 2] << 16) | (src[p + 3] << 24)) >>> 0);
}

/** Writes the f32 scale at dst[p] (little-endian). */
function writeI2SScale(dst: Uint8Array, p: number, scale: number): void {
  const bits = f32Bits(scale);
  dst[p] = bits & 0xff;
  dst[p + 1] = (bits >>> 8) & 0xff;
  dst[p + 2] = (bits >>> 16) & 0xff;
  dst[p + 3] = bits >>> 24;
}

/**
 * Decodes `count` values (a multiple of 128) from packed blocks at src[0..] with the given scale.
 * `src` may start at any block of the tensor (for row access); the scale is passed in because it
 * lives after the whole tensor.
 */
export function dequantizeI2SBlocks(src: Uint8Array, out: Float32Array, count: number, scale: number): void {
  // Weight of each code, (code − 1) · scale, computed once (exact in f32).
  const s = Math.fround(scale);
  const weights = new Float32Array([-s, 0 * s, s, 2 * s]);
  const blocks = count / I2_S_BLOCK_SIZE;
  for (let b = 0; b < blocks; b++) {
    const p = b * I2_S_BLOCK_BYTES;
    const o = b * I2_S_BLOCK_SIZE;
    for (let g = 0; g < 4; g++) {
      const shift = 6 - 2 * g;
      const y = o + 32 * g;
      for (let m = 0; m < 32; m++) {
        out[y + m] = weights[(src[p + m] >> shift) & 3];
      }
    }
  }
}

/** Decodes a whole I2_S tensor of `count` values (packed bytes followed by the scale). */
export function dequantizeI2_S(src: Uint8Array, out: Float32Array, count: number): void {
  dequantizeI2SBlocks(src, out, count, readI2SScale(src, count / 4));
}

/**
 * Packs trits (−1, 0, +1; length a multiple of 128) and one scale into a complete I2_S tensor.
 * Validation of the trits is the caller's job.
 */
export function encodeI2_S(trits: Int8Array, scale: number): Uint8Array {
  const count = trits.length;
  const out = new Uint8Array(i2sTensorBytes(count));
  for (let b = 0; b < count / I2_S_BLOCK_SIZE; b++) {
    const p = b * I2_S_BLOCK_BYTES;
    const o = b * I2_S_BLOCK_SIZE;
    for (let m = 0; m < 32; m++) {
      out[p + m] =
        ((trits[o + m] + 1) << 6) | ((trits[o + 32 + m] + 1) << 4) | ((trits[o + 64 + m] + 1) << 2) | (trits[o + 96 + m] + 1);
    }
  }
  writeI2SScale(out, count / 4, scale);
  return out;
}

/** Encodes values (length a multiple of 128) into a complete I2_S tensor with scale = max|x|. */
export function quantizeI2_S(values: Float32Array): Uint8Array {
  const count = values.length;
  const out = new Uint8Array(i2sTensorBytes(count));
  const scale = Math.fround(absMax(values, 0, count));
  const inv = scale !== 0 ? Math.fround(1 / scale) : 0;
  for (let b = 0; b < count / I2_S_BLOCK_SIZE; b++) {
    const p = b * I2_S_BLOCK_BYTES;
    const o = b * I2_S_BLOCK_SIZE;
    for (let g = 0; g < 4; g++) {
      const shift = 6 - 2 * g;
      for (let m = 0; m < 32; m++) {
        const code = roundHalfAwayFromZero(Math.fround(values[o + 32 * g + m] * inv)) + 1;
        out[p + m] |= code << shift;
      }
    }
  }
  writeI2SScale(out, count / 4, scale);
  return out;
}
