import { f16ToF32 } from '../f16';
import { dequantizeQ4_K, packQ4kScales, Q4_K_BLOCK_BYTES, q4kMin, q4kScale, quantizeQ4_K } from './Q4_K';
import { rng } from '../../testing/uniform';


function gaussian(next: () => number, n: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = Math.sqrt(-2 * Math.log(next() || 1e-12)) * Math.cos(2 * Math.PI * next());
  return v;
}

// 12 packed bytes whose 6-bit scales and mins were worked out by hand from get_scale_min_k4.
const PACKED = [0x45, 0x81, 0xc3, 0x07, 0x4a, 0x8b, 0x0c, 0xcd, 0x21, 0x43, 0x65, 0x87];
const SCALES = [5, 1, 3, 7, 17, 35, 53, 7];
const MINS = [10, 11, 12, 13, 18, 36, 6, 56];

describe('Q4_K', () => {
  it('unpacks the 6-bit scales and mins like get_scale_min_k4', () => {
    const bytes = new Uint8Array(PACKED);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((s) => q4kScale(bytes, 0, s))).toEqual(SCALES);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((s) => q4kMin(bytes, 0, s))).toEqual(MINS);
  });

  it('packs scales and mins back into the same bytes', () => {
    const bytes = new Uint8Array(12);
    packQ4kScales(SCALES, MINS, bytes, 0);
    expect(Array.from(bytes)).toEqual(PACKED);
    const sc = [0, 63, 16, 47, 63, 32, 48, 15];
    const mn = [63, 0, 31, 33, 1, 62, 17, 40];
    packQ4kScales(sc, mn, bytes, 0);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((s) => q4kScale(bytes, 0, s))).toEqual(sc);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((s) => q4kMin(bytes, 0, s))).toEqual(mn);
  });

  it('decodes a hand-built super-block with a different scale and min per sub-block', () => {
    const block = new Uint8Array(2 * Q4_K_BLOCK_BYTES);
    const p = Q4_K_BLOCK_BYTES; // second block, to check block offsets too
    block[p + 0] = 0x00;
    block[p + 1] = 0x38; // d = 0.5
    block[p + 2] = 0x00;
    block[p + 3] = 0x34; // dmin = 0.25
    block.set(PACKED, p + 4);
    for (let i = 0; i < 128; i++) block[p + 16 + i] = (i * 37 + 11) & 0xff;
    const out = new Float32Array(512);
    dequantizeQ4_K(block, out, 512);
    for (let e = 0; e < 256; e++) {
      // Chunk c of 64 values: byte 32c + l, low nibble → sub-block 2c, high nibble → 2c + 1.
      const c = e >> 6;
      const high = (e & 63) >= 32;
      const byte = block[p + 16 + 32 * c + (e & 31)];
      const q = high ? byte >> 4 : byte & 15;
      const s = 2 * c + (high ? 1 : 0);
      expect(out[256 + e]).toBe(0.5 * SCALES[s] * q - 0.25 * MINS[s]);
    }
    expect(Array.from(out.subarray(0, 256)).every((x) => x === 0)).toBe(true);
  });

  it('quantizes Gaussian data with bounded error (max 0.78 step, RMS 7.4%)', () => {
    const n = 256 * 40;
    const values = gaussian(rng(11), n);
    const bytes = quantizeQ4_K(values);
    expect(bytes.length).toBe(40 * Q4_K_BLOCK_BYTES);
    const out = new Float32Array(n);
    dequantizeQ4_K(bytes, out, n);
    let se = 0;
    let sx = 0;
    for (let s = 0; s < n; s += 32) {
      let lo = 0;
      let hi = -Infinity;
      for (let i = s; i < s + 32; i++) {
        lo = Math.min(lo, values[i]);
        hi = Math.max(hi, values[i]);
      }
      const step = (hi - lo) / 15;
      for (let i = s; i < s + 32; i++) {
        // Measured over 1M values: max |error| 0.78 step (range/15), RMS error 7.4% of RMS.
        expect(Math.abs(out[i] - values[i])).toBeLessThanOrEqual(0.85 * step);
        se += (out[i] - values[i]) ** 2;
        sx += values[i] ** 2;
      }
    }
    expect(Math.sqrt(se / sx)).toBeLessThan(0.08);
  });

  it('handles all-zero, constant-negative, all-positive and tiny blocks', () => {
    const values = new Float32Array(256 * 4);
    values.fill(-3, 256, 512);
    for (let i = 512; i < 768; i++) values[i] = 1 + (i % 16);
    for (let i = 768; i < 1024; i++) values[i] = ((i % 7) - 3) * 1e-3;
    const bytes = quantizeQ4_K(values);
    const out = new Float32Array(values.length);
    dequantizeQ4_K(bytes, out, values.length);
    for (let i = 0; i < 256; i++) expect(out[i]).toBe(0);
    for (let i = 256; i < 512; i++) expect(Math.abs(out[i] + 3)).toBeLessThan(0.05);
    for (let i = 512; i < 768; i++) expect(Math.abs(out[i] - values[i])).toBeLessThan(0.51);
    for (let i = 768; i < 1024; i++) expect(Math.abs(out[i] - values[i])).toBeLessThan(2.1e-4);
    // d and dmin are finite f16 values.
    for (let b = 0; b < 4; b++) {
      expect(Number.isFinite(f16ToF32(bytes[144 * b] | (bytes[144 * b + 1] << 8)))).toBe(true);
      expect(Number.isFinite(f16ToF32(bytes[144 * b + 2] | (bytes[144 * b + 3] << 8)))).toBe(true);
    }
  });
});
