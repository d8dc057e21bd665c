import { f16ToF32, f32ToF16 } from '../f16';
import { dequantizeQ8_0, Q8_0_BLOCK_BYTES, encodeQ8_0Blocks } from './Q8_0';
import { rng } from '../../testing/uniform';


describe('Q8_0', () => {
  it('decodes a hand-built block: f16 d then 32 signed bytes', () => {
    const block = new Uint8Array(Q8_0_BLOCK_BYTES);
    block[0] = 0x00;
    block[1] = 0x34; // d = 0.25
    const q = [-128, 127, 0, 1, -1, 5, -77, 100];
    for (let j = 0; j < 32; j++) block[2 + j] = q[j % q.length] & 0xff;
    const out = new Float32Array(32);
    dequantizeQ8_0(block, out, 32);
    for (let j = 0; j < 32; j++) expect(out[j]).toBe(q[j % q.length] * 0.25);
  });

  it('quantizes like quantize_row_q8_0_ref: d = amax/127, halves away from zero', () => {
    const values = new Float32Array(32);
    values.set([127, -127, 2.5, -2.5, 0.5, -0.49, 3.49, -100.5]);
    const bytes = encodeQ8_0Blocks(values);
    expect(bytes[0] | (bytes[1] << 8)).toBe(0x3c00); // d = 1
    const q = Array.from(bytes.subarray(2, 10)).map((b) => (b << 24) >> 24);
    expect(q).toEqual([127, -127, 3, -3, 1, 0, 3, -101]);
  });

  it('round-trips random blocks within d/2 (plus the f16 rounding of d)', () => {
    const next = rng(3);
    const n = 32 * 200;
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = (next() * 2 - 1) * 10 ** Math.floor(next() * 6 - 3);
    const bytes = encodeQ8_0Blocks(values);
    expect(bytes.length).toBe(200 * Q8_0_BLOCK_BYTES);
    const out = new Float32Array(n);
    dequantizeQ8_0(bytes, out, n);
    for (let b = 0; b < 200; b++) {
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(values[32 * b + j]));
      const d = Math.fround(amax / 127);
      const dq = f16ToF32(f32ToF16(d));
      expect(bytes[34 * b] | (bytes[34 * b + 1] << 8)).toBe(f32ToF16(d));
      for (let j = 0; j < 32; j++) {
        const i = 32 * b + j;
        const bound = d / 2 + 127 * Math.abs(d - dq) + 1e-7 * amax;
        expect(Math.abs(out[i] - values[i])).toBeLessThanOrEqual(bound);
      }
    }
  });
});
