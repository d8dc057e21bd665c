/**
 * TQ1_0: blocks of 256 ternary values, 54 bytes each: qs[48], qh[4], f16 d.
 *
 * Five trits share a byte: the 5-digit base-3 number v (first value = most significant digit) is
 * stored as ceil(v · 256 / 243), which spreads 0..242 over 0..255 so that digit n can be read back
 * with one multiply: trit n of byte b = ((b · 3^n) mod 256) · 3 >> 8.
 *   qs[0..31]  hold values 0..159:   byte m holds m, m + 32, m + 64, m + 96, m + 128
 *   qs[32..47] hold values 160..239: byte 32 + m holds 160 + m, +16, +32, +48, +64
 *   qh[0..3]   hold values 240..255: byte j holds 240 + j, +4, +8, +12, then a padding trit 0
 * Value = (q − 1) · d with q in 0..2.
 *
 * The quantizer matches ggml's quantize_row_tq1_0_ref (d = max|x| as f16, q = lroundf(x/d) + 1).
 */
import { f16ToF32Table, writeF16 } from '../f16';
import { ternarizeBlock } from './ternary';

/** Values in one TQ1_0 block. */
export const TQ1_0_BLOCK_SIZE = 256;
/** Bytes of one TQ1_0 block. */
export const TQ1_0_BLOCK_BYTES = 54;

const QH = 48;
const D = 52;
const POW3 = [1, 3, 9, 27, 81, 243];

/** TRIT_TABLE[5·b + n] = trit n (0..2) of packed byte b, by the multiply-and-shift rule above. */
const TRIT_TABLE = ((): Uint8Array => {
  const table = new Uint8Array(256 * 5);
  for (let b = 0; b < 256; b++) {
    for (let n = 0; n < 5; n++) table[5 * b + n] = (((b * POW3[n]) & 255) * 3) >> 8;
  }
  return table;
})();

/** Trit n (0..2, n = 0 is the most significant) of a packed byte. */
export function tq1Trit(byte: number, n: number): number {
  return TRIT_TABLE[5 * (byte & 255) + n];
}

/** Packs base-3 digits (most significant first, each 0..2) as ceil(v · 256 / 243). */
export function packTq1Byte(q0: number, q1: number, q2: number, q3: number, q4: number): number {
  const v = (((q0 * 3 + q1) * 3 + q2) * 3 + q3) * 3 + q4;
  return Math.floor((v * 256 + 242) / 243);
}

/** The 256 codes (0..2, element order) of the block at src[p..p+54), into codes[0..256). */
export function decodeTQ1_0Codes(src: Uint8Array, p: number, codes: Uint8Array): void {
  for (let m = 0; m < 32; m++) {
    const t = 5 * src[p + m];
    for (let n = 0; n < 5; n++) codes[32 * n + m] = TRIT_TABLE[t + n];
  }
  for (let m = 0; m < 16; m++) {
    const t = 5 * src[p + 32 + m];
    for (let n = 0; n < 5; n++) codes[160 + 16 * n + m] = TRIT_TABLE[t + n];
  }
  for (let j = 0; j < 4; j++) {
    const t = 5 * src[p + QH + j];
    for (let n = 0; n < 4; n++) codes[240 + 4 * n + j] = TRIT_TABLE[t + n];
  }
}

/** Decodes `count` values (a multiple of 256) from whole blocks at src[0..]. */
export function dequantizeTQ1_0(src: Uint8Array, out: Float32Array, count: number): void {
  const f16 = f16ToF32Table();
  const blocks = count / TQ1_0_BLOCK_SIZE;
  const codes = new Uint8Array(TQ1_0_BLOCK_SIZE);
  for (let b = 0; b < blocks; b++) {
    const p = b * TQ1_0_BLOCK_BYTES;
    const d = f16[src[p + D] | (src[p + D + 1] << 8)];
    const o = b * TQ1_0_BLOCK_SIZE;
    decodeTQ1_0Codes(src, p, codes);
    for (let i = 0; i < TQ1_0_BLOCK_SIZE; i++) out[o + i] = (codes[i] - 1) * d;
  }
}

/**
 * Packs one block: 256 trits (−1, 0, +1) from trits[t..t+256) with scale d (rounded to f16) into
 * dst[p..p+54). Validation of the trits is the caller's job.
 */
export function encodeTQ1_0Block(trits: Int8Array, t: number, d: number, dst: Uint8Array, p: number): void {
  for (let m = 0; m < 32; m++) {
    const x = t + m;
    dst[p + m] = packTq1Byte(trits[x] + 1, trits[x + 32] + 1, trits[x + 64] + 1, trits[x + 96] + 1, trits[x + 128] + 1);
  }
  for (let m = 0; m < 16; m++) {
    const x = t + 160 + m;
    dst[p + 32 + m] = packTq1Byte(trits[x] + 1, trits[x + 16] + 1, trits[x + 32] + 1, trits[x + 48] + 1, trits[x + 64] + 1);
  }
  for (let j = 0; j < 4; j++) {
    const x = t + 240 + j;
    // The fifth, least significant digit is the padding trit 0.
    dst[p + QH + j] = packTq1Byte(trits[x] + 1, trits[x + 4] + 1, trits[x + 8] + 1, trits[x + 12] + 1, 0);
  }
  writeF16(dst, p + D, d);
}

/** Encodes values (length a multiple of 256) into TQ1_0 blocks. */
export function quantizeTQ1_0(values: Float32Array): Uint8Array {
  const blocks = values.length / TQ1_0_BLOCK_SIZE;
  const out = new Uint8Array(blocks * TQ1_0_BLOCK_BYTES);
  const trits = new Int8Array(TQ1_0_BLOCK_SIZE);
  for (let b = 0; b < blocks; b++) {
    const d = ternarizeBlock(values, b * TQ1_0_BLOCK_SIZE, TQ1_0_BLOCK_SIZE, trits);
    encodeTQ1_0Block(trits, 0, d, out, b * TQ1_0_BLOCK_BYTES);
  }
  return out;
}
