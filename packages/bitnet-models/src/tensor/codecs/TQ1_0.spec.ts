import { f32ToF16 } from '../f16';
import { dequantizeTQ1_0, packTq1Byte, quantizeTQ1_0, TQ1_0_BLOCK_BYTES, tq1Trit } from './TQ1_0';

const tritOf = (e: number): number => ((e * 5 + (e >> 4)) % 3) - 1;

/** ceil(v · 256 / 243) of the base-3 number whose digits are given most significant first. */
function packDigits(digits: number[]): number {
  const v = digits.reduce((acc, q) => acc * 3 + q, 0);
  return Math.ceil((v * 256) / 243);
}

/** Builds a block straight from the layout description in bitnet-formats.md. */
function buildBlock(trit: (e: number) => number, dBits: number): Uint8Array {
  const block = new Uint8Array(TQ1_0_BLOCK_BYTES);
  for (let m = 0; m < 32; m++) block[m] = packDigits([0, 1, 2, 3, 4].map((k) => trit(m + 32 * k) + 1));
  for (let m = 0; m < 16; m++) block[32 + m] = packDigits([0, 1, 2, 3, 4].map((k) => trit(160 + m + 16 * k) + 1));
  for (let j = 0; j < 4; j++) block[48 + j] = packDigits([...[0, 1, 2, 3].map((k) => trit(240 + j + 4 * k) + 1), 0]);
  block[52] = dBits & 0xff;
  block[53] = dBits >> 8;
  return block;
}

describe('TQ1_0', () => {
  it('extracts every digit of every 5-trit number with the multiply-shift rule', () => {
    for (let v = 0; v < 243; v++) {
      const digits = [Math.floor(v / 81) % 3, Math.floor(v / 27) % 3, Math.floor(v / 9) % 3, Math.floor(v / 3) % 3, v % 3];
      const byte = packTq1Byte(digits[0], digits[1], digits[2], digits[3], digits[4]);
      expect(byte).toBe(Math.ceil((v * 256) / 243));
      for (let n = 0; n < 5; n++) expect(tq1Trit(byte, n)).toBe(digits[n]);
    }
  });

  it('decodes a hand-built block element by element (incl. the qh padding trit)', () => {
    const block = buildBlock(tritOf, 0x3a00); // d = 0.75
    const out = new Float32Array(256);
    dequantizeTQ1_0(block, out, 256);
    for (let e = 0; e < 256; e++) expect(out[e]).toBe(tritOf(e) * 0.75);
  });

  it('places single trits where the layout says', () => {
    // Only element 0 (qs[0] top digit), 131 (qs[3] last digit), 200 (qs[40] digit 2) and
    // 253 (qh[1] digit 3) are +1; the rest are 0.
    const ones = new Set([0, 131, 200, 253]);
    const block = buildBlock((e) => (ones.has(e) ? 1 : 0), 0x3c00);
    // qs[0] = digits 2,1,1,1,1 → v = 2·81 + 40 = 202 → ceil(202·256/243) = 213
    expect(block[0]).toBe(213);
    // qh[1]: digits 1,1,1,2 then padding 0 → v = (1·27 + 9 + 3 + 2)·3 = 123 → ceil(123·256/243) = 130
    expect(block[49]).toBe(130);
    const out = new Float32Array(256);
    dequantizeTQ1_0(block, out, 256);
    const nonzero = Array.from(out.keys()).filter((e) => out[e] !== 0);
    expect(nonzero).toEqual([0, 131, 200, 253]);
  });

  it('round-trips trits × f16 scales exactly over several blocks', () => {
    const scales = [0.5, 0.0009765625, 7];
    const values = new Float32Array(256 * scales.length);
    for (let e = 0; e < values.length; e++) values[e] = tritOf(e * 3 + 1) * scales[e >> 8];
    const bytes = quantizeTQ1_0(values);
    expect(bytes.length).toBe(3 * TQ1_0_BLOCK_BYTES);
    for (let b = 0; b < scales.length; b++) {
      const p = b * TQ1_0_BLOCK_BYTES + 52;
      expect(bytes[p] | (bytes[p + 1] << 8)).toBe(f32ToF16(scales[b]));
      // Encoding agrees byte for byte with the block built from the layout description.
      const ref = buildBlock((e) => tritOf((b * 256 + e) * 3 + 1), f32ToF16(scales[b]));
      expect(Array.from(bytes.subarray(b * TQ1_0_BLOCK_BYTES, (b + 1) * TQ1_0_BLOCK_BYTES))).toEqual(Array.from(ref));
    }
    const out = new Float32Array(values.length);
    dequantizeTQ1_0(bytes, out, values.length);
    expect(Array.from(out)).toEqual(Array.from(values));
  });
});
