import { dequantizeQ6_K, Q6_K_BLOCK_BYTES, q6kQuant, quantizeQ6_K } from './Q6_K';
import { rng } from '../../testing/uniform';


/** Expected 6-bit quant of value e, written straight from the bit-position table. */
function expectedQuant(block: Uint8Array, p: number, e: number): number {
  const h = Math.floor(e / 128);
  const l = e % 32;
  const group = Math.floor((e % 128) / 32); // 0: +0, 1: +32, 2: +64, 3: +96
  const ql = [block[p + 64 * h + l], block[p + 64 * h + l + 32], block[p + 64 * h + l], block[p + 64 * h + l + 32]][group];
  const low = group < 2 ? ql & 0x0f : ql >> 4;
  const high = (block[p + 128 + 32 * h + l] >> [0, 2, 4, 6][group]) & 3;
  return low + 16 * high;
}

describe('Q6_K', () => {
  it('decodes a hand-built super-block with a distinct signed scale per sub-block', () => {
    const block = new Uint8Array(2 * Q6_K_BLOCK_BYTES);
    const p = Q6_K_BLOCK_BYTES; // second block
    for (let i = 0; i < 192; i++) block[p + i] = (i * 73 + 29) & 0xff; // ql and qh
    const scales = Array.from({ length: 16 }, (_, s) => s * 9 - 70);
    for (let s = 0; s < 16; s++) block[p + 192 + s] = scales[s] & 0xff;
    block[p + 208] = 0x00;
    block[p + 209] = 0x30; // d = 0.125
    const out = new Float32Array(512);
    dequantizeQ6_K(block, out, 512);
    for (let e = 0; e < 256; e++) {
      const q = expectedQuant(block, p, e);
      expect(q6kQuant(block, p, e)).toBe(q);
      expect(out[256 + e]).toBe(0.125 * scales[e >> 4] * (q - 32));
    }
  });

  it('places value 200 in the high nibble of ql[72] and bits 4..5 of qh[40]', () => {
    const block = new Uint8Array(Q6_K_BLOCK_BYTES);
    // Every quant 32 (→ 0): low nibbles 0, high bits 2 in each qh field.
    block.fill(0xaa, 128, 192);
    block[72] = 0x50; // high nibble 5
    block[128 + 40] = 0xaa ^ (0x3 << 4); // field 2 becomes 1 → q = 5 + 16 = 21
    block.fill(1, 192, 208); // every scale 1
    block[209] = 0x3c; // d = 1
    const out = new Float32Array(256);
    dequantizeQ6_K(block, out, 256);
    const nonzero = Array.from(out.keys()).filter((e) => out[e] !== 0);
    expect(nonzero).toEqual([200]);
    expect(out[200]).toBe(21 - 32);
  });

  it('quantizes Gaussian data with bounded error (max 1.13 step, RMS 1.8%)', () => {
    const next = rng(5);
    const n = 256 * 40;
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = Math.sqrt(-2 * Math.log(next() || 1e-12)) * Math.cos(2 * Math.PI * next());
    const bytes = quantizeQ6_K(values);
    expect(bytes.length).toBe(40 * Q6_K_BLOCK_BYTES);
    const out = new Float32Array(n);
    dequantizeQ6_K(bytes, out, n);
    let se = 0;
    let sx = 0;
    for (let s = 0; s < n; s += 16) {
      let amax = 0;
      for (let i = s; i < s + 16; i++) amax = Math.max(amax, Math.abs(values[i]));
      for (let i = s; i < s + 16; i++) {
        // Measured over 1M values: max |error| 1.13·amax/32 (when +amax and −amax both occur, the
        // least-squares step leaves one of them clipped), RMS error 1.73% of RMS.
        expect(Math.abs(out[i] - values[i])).toBeLessThanOrEqual((1.2 * amax) / 32);
        se += (out[i] - values[i]) ** 2;
        sx += values[i] ** 2;
      }
    }
    expect(Math.sqrt(se / sx)).toBeLessThan(0.02);
  });

  it('encodes an all-zero block as zeros and small integers within half a step', () => {
    const values = new Float32Array(512);
    for (let i = 256; i < 512; i++) values[i] = (i % 63) - 31; // −31..31 fit the 6-bit range
    const bytes = quantizeQ6_K(values);
    const out = new Float32Array(512);
    dequantizeQ6_K(bytes, out, 512);
    expect(Array.from(out.subarray(0, 256)).every((x) => x === 0)).toBe(true);
    for (let i = 256; i < 512; i++) expect(Math.abs(out[i] - values[i])).toBeLessThan(0.5);
  });
});
