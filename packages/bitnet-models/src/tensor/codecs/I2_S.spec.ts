import { dequantizeI2SBlocks, dequantizeI2_S, encodeI2_S, quantizeI2_S, readI2SScale } from './I2_S';

const tritOf = (e: number): number => ((e * 11 + (e >> 3)) % 3) - 1;

/** Builds an I2_S tensor from the layout description: shift 6 − 2·(j/32) of byte j % 32. */
function buildTensor(trits: number[], scale: number): Uint8Array {
  const n = trits.length;
  const bytes = new Uint8Array(n / 4 + 32);
  for (let e = 0; e < n; e++) {
    const block = Math.floor(e / 128);
    const j = e % 128;
    bytes[32 * block + (j % 32)] |= (trits[e] + 1) << (6 - 2 * Math.floor(j / 32));
  }
  new DataView(bytes.buffer).setFloat32(n / 4, scale, true);
  return bytes;
}

describe('I2_S', () => {
  it('decodes a hand-built two-row tensor with the scale after all packed bytes', () => {
    const trits = Array.from({ length: 2 * 256 }, (_, e) => tritOf(e));
    const bytes = buildTensor(trits, 0.8125);
    expect(bytes.length).toBe(128 + 32);
    expect(readI2SScale(bytes, 128)).toBe(0.8125);
    const out = new Float32Array(512);
    dequantizeI2_S(bytes, out, 512);
    for (let e = 0; e < 512; e++) expect(out[e]).toBe(tritOf(e) * 0.8125);
  });

  it('puts value j of a block at shift 6 − 2·(j/32) of byte j % 32', () => {
    const bytes = new Uint8Array(32 + 32).fill(0x55); // all codes 1 → 0
    bytes.fill(0, 32);
    bytes[5] = 0x55 ^ (0x3 << 2); // code 2 at shift 2 → value j = 5 + 64 = 69
    new DataView(bytes.buffer).setFloat32(32, 3, true);
    const out = new Float32Array(128);
    dequantizeI2_S(bytes, out, 128);
    const nonzero = Array.from(out.keys()).filter((e) => out[e] !== 0);
    expect(nonzero).toEqual([69]);
    expect(out[69]).toBe(3);
  });

  it('decodes codes 0, 1, 2, 3 as −s, 0, s, 2s', () => {
    const bytes = new Uint8Array(32);
    bytes[0] = 0b00011011; // values 0, 32, 64, 96 have codes 0, 1, 2, 3
    const out = new Float32Array(128);
    dequantizeI2SBlocks(bytes, out, 128, 1.25);
    expect([out[0], out[32], out[64], out[96]]).toEqual([-1.25, 0, 1.25, 2.5]);
  });

  it('quantizes trits × scale exactly, matching the hand-built layout, padding zero', () => {
    const trits = Array.from({ length: 384 }, (_, e) => tritOf(e + 7));
    const scale = 0.123456789; // any f32: I2_S stores the scale as f32
    const values = new Float32Array(trits.map((t) => t * scale));
    const bytes = quantizeI2_S(values);
    expect(Array.from(bytes)).toEqual(Array.from(buildTensor(trits, Math.fround(scale))));
    expect(Array.from(bytes.subarray(96 + 4)).every((b) => b === 0)).toBe(true);
    const out = new Float32Array(384);
    dequantizeI2_S(bytes, out, 384);
    expect(Array.from(out)).toEqual(Array.from(values));
    expect(Array.from(encodeI2_S(new Int8Array(trits), scale))).toEqual(Array.from(bytes));
  });
});
