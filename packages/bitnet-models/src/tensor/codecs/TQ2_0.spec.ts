import { f16ToF32, f32ToF16 } from '../f16';
import { dequantizeTQ2_0, encodeTQ2_0Block, quantizeTQ2_0, TQ2_0_BLOCK_BYTES } from './TQ2_0';

/** A trit pattern that differs between neighbouring elements, groups and halves. */
const tritOf = (e: number): number => ((e * 7 + (e >> 5)) % 3) - 1;

describe('TQ2_0', () => {
  it('reads each 2-bit field at the documented position', () => {
    // Element j + 32n + 128c sits at bits 2n of qs[32c + j]. Build the block byte by byte.
    const block = new Uint8Array(TQ2_0_BLOCK_BYTES);
    for (let c = 0; c < 2; c++) {
      for (let n = 0; n < 4; n++) {
        for (let j = 0; j < 32; j++) block[32 * c + j] |= (tritOf(j + 32 * n + 128 * c) + 1) << (2 * n);
      }
    }
    block[64] = 0x00; // d = 1.5 = f16 0x3e00, little-endian
    block[65] = 0x3e;
    const out = new Float32Array(256);
    dequantizeTQ2_0(block, out, 256);
    for (let e = 0; e < 256; e++) expect(out[e]).toBe(tritOf(e) * 1.5);
  });

  it('decodes single fields: element 197 is bits 4..5 of qs[37]', () => {
    const block = new Uint8Array(TQ2_0_BLOCK_BYTES).fill(0x55); // every field 1 → 0
    block[37] = 0x55 ^ (0x3 << 4); // field n=2 of byte 37 becomes 2 → +d
    block[64] = 0x00;
    block[65] = 0x40; // d = 2
    const out = new Float32Array(256);
    dequantizeTQ2_0(block, out, 256);
    const nonzero = Array.from(out.keys()).filter((e) => out[e] !== 0);
    expect(nonzero).toEqual([197]);
    expect(out[197]).toBe(2);
  });

  it('decodes a stored code 3 as 2·d, like ggml', () => {
    const block = new Uint8Array(TQ2_0_BLOCK_BYTES).fill(0x55);
    block[0] = 0x57; // element 0 gets code 3
    block[64] = 0x00;
    block[65] = 0x3c; // d = 1
    const out = new Float32Array(256);
    dequantizeTQ2_0(block, out, 256);
    expect(out[0]).toBe(2);
  });

  it('round-trips trits × f16 scales exactly and stores d = max|x|', () => {
    const scales = [0.0234375, 1, 3.5];
    const values = new Float32Array(256 * scales.length);
    for (let e = 0; e < values.length; e++) values[e] = tritOf(e) * scales[e >> 8];
    const bytes = quantizeTQ2_0(values);
    expect(bytes.length).toBe(3 * TQ2_0_BLOCK_BYTES);
    for (let b = 0; b < scales.length; b++) {
      const p = b * TQ2_0_BLOCK_BYTES + 64;
      expect(bytes[p] | (bytes[p + 1] << 8)).toBe(f32ToF16(scales[b]));
    }
    const out = new Float32Array(values.length);
    dequantizeTQ2_0(bytes, out, values.length);
    expect(Array.from(out)).toEqual(Array.from(values));
  });

  it('rounds non-ternary input to the nearest of −d, 0, d (halves away from zero)', () => {
    const values = new Float32Array(256);
    values[0] = 4; // d = 4
    values[1] = 2; // 0.5 → 1
    values[2] = -2; // −0.5 → −1
    values[3] = 1.9; // 0.475 → 0
    values[4] = -3; // −0.75 → −1
    const out = new Float32Array(256);
    dequantizeTQ2_0(quantizeTQ2_0(values), out, 256);
    expect(Array.from(out.subarray(0, 6))).toEqual([4, 4, -4, 0, -4, 0]);
  });

  it('encodes an all-zero block with d = 0 and codes 1', () => {
    const bytes = quantizeTQ2_0(new Float32Array(256));
    expect(Array.from(bytes.subarray(0, 64)).every((b) => b === 0x55)).toBe(true);
    expect(bytes[64] | bytes[65]).toBe(0);
  });

  it('encodeTQ2_0Block stores the rounded f16 scale', () => {
    const trits = new Int8Array(256).fill(1);
    const block = new Uint8Array(TQ2_0_BLOCK_BYTES);
    encodeTQ2_0Block(trits, 0, 0.1, block, 0);
    const out = new Float32Array(256);
    dequantizeTQ2_0(block, out, 256);
    expect(out[255]).toBe(f16ToF32(f32ToF16(0.1)));
  });
});
