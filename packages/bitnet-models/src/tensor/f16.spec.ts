import { rng } from '../testing/uniform';
import {
  bf16ToF32,
  decodeBf16,
  decodeF16,
  encodeBf16,
  encodeF16,
  f16ToF32,
  f16ToF32Bits,
  f32Bits,
  f32BitsToBf16,
  f32BitsToF16,
  f32FromBits,
  f32ToBf16,
  f32ToF16,
} from './f16';


const isNanF16 = (h: number): boolean => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

describe('f16 → f32', () => {
  it('decodes known values', () => {
    expect(f16ToF32(0x0000)).toBe(0);
    expect(Object.is(f16ToF32(0x8000), -0)).toBe(true);
    expect(f16ToF32(0x3c00)).toBe(1);
    expect(f16ToF32(0xc000)).toBe(-2);
    expect(f16ToF32(0x3555)).toBeCloseTo(0.333251953125, 12);
    expect(f16ToF32(0x7bff)).toBe(65504);
    expect(f16ToF32(0x0400)).toBe(2 ** -14);
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
    expect(f16ToF32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(f16ToF32(0x7c00)).toBe(Infinity);
    expect(f16ToF32(0xfc00)).toBe(-Infinity);
    expect(f16ToF32(0x7e00)).toBeNaN();
  });

  it('keeps NaN payloads in the f32 bits', () => {
    expect(f16ToF32Bits(0x7e01)).toBe(0x7fc02000);
    expect(f16ToF32Bits(0xfd00)).toBe(0xffa00000);
  });

  it('round-trips every non-NaN f16 exactly (exhaustive)', () => {
    let mismatches = 0;
    for (let h = 0; h < 65536; h++) {
      if (isNanF16(h)) {
        if (!isNanF16(f32ToF16(f16ToF32(h)))) mismatches++;
        continue;
      }
      if (f32ToF16(f16ToF32(h)) !== h) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('bulk decode matches the scalar conversion from an unaligned buffer', () => {
    const bytes = new Uint8Array(2 * 65536 + 1);
    for (let h = 0; h < 65536; h++) {
      bytes[1 + 2 * h] = h & 0xff;
      bytes[2 + 2 * h] = h >> 8;
    }
    const out = new Float32Array(65536);
    decodeF16(bytes.subarray(1), out, 65536);
    const outBits = new Uint32Array(out.buffer);
    let mismatches = 0;
    for (let h = 0; h < 65536; h++) if (outBits[h] !== f16ToF32Bits(h)) mismatches++;
    expect(mismatches).toBe(0);
  });
});

describe('f32 → f16', () => {
  // Finite non-negative f16 values in increasing order (bit patterns 0..0x7bff are monotonic).
  const finite = Array.from({ length: 0x7c00 }, (_, h) => f16ToF32(h));

  /** Independent reference: nearest f16 by search, ties to the even bit pattern, overflow at 65520. */
  function reference(x: number): number {
    const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
    const a = Math.abs(x);
    if (a >= 65520) return sign | 0x7c00;
    let lo = 0;
    let hi = finite.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (finite[mid] <= a) lo = mid;
      else hi = mid;
    }
    const dl = a - finite[lo];
    const dh = finite[hi] - a;
    const pick = dl < dh ? lo : dh < dl ? hi : lo % 2 === 0 ? lo : hi;
    return sign | pick;
  }

  it('rounds known cases to nearest even', () => {
    expect(f32ToF16(1)).toBe(0x3c00);
    expect(f32ToF16(-2)).toBe(0xc000);
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(65519)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00); // tie between 65504 (odd) and 65536: goes to inf
    expect(f32ToF16(1e9)).toBe(0x7c00);
    expect(f32ToF16(-1e9)).toBe(0xfc00);
    expect(f32ToF16(Infinity)).toBe(0x7c00);
    expect(f32ToF16(NaN)).toBe(0x7e00);
    expect(f32ToF16(-0)).toBe(0x8000);
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie, 0x3c00 is even
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie, 0x3c02 is even
    expect(f32ToF16(2 ** -25)).toBe(0x0000); // tie between 0 and the smallest subnormal
    expect(f32ToF16(3 * 2 ** -25)).toBe(0x0002);
    expect(f32ToF16(2 ** -25 * 1.0001)).toBe(0x0001);
    expect(f32ToF16(2 ** -14 - 2 ** -25)).toBe(0x0400); // largest subnormal tie rounds up to normal
    expect(f32ToF16(1e-10)).toBe(0x0000);
  });

  it('matches the search reference at every halfway point and one f32 ulp around it', () => {
    let mismatches = 0;
    for (let h = 0; h < 0x7bff; h++) {
      const mid = f32Bits((finite[h] + finite[h + 1]) / 2); // exact in f32
      for (const bits of [mid - 1, mid, mid + 1]) {
        const x = f32FromBits(bits);
        if (f32BitsToF16(bits) !== reference(x)) mismatches++;
        if (f32BitsToF16((bits | 0x80000000) >>> 0) !== reference(-x)) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
  });

  it('matches the search reference on random f32 values', () => {
    const next = rng(1);
    let mismatches = 0;
    for (let i = 0; i < 100000; i++) {
      // Exponents spanning below the subnormal range to above the overflow threshold.
      const x = f32FromBits(f32Bits((next() * 2 - 1) * 2 ** Math.floor(next() * 46 - 28)));
      if (f32ToF16(x) !== reference(x)) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('bulk encode matches the scalar conversion', () => {
    const values = new Float32Array([0, -1.5, 3.14159, 65520, -1e-6, 2 ** -25, NaN, -Infinity]);
    const bytes = new Uint8Array(values.length * 2);
    encodeF16(values, bytes, values.length);
    for (let i = 0; i < values.length; i++) {
      expect(bytes[2 * i] | (bytes[2 * i + 1] << 8)).toBe(f32ToF16(values[i]));
    }
  });
});

describe('bf16', () => {
  it('rounds like ggml_compute_fp32_to_bf16', () => {
    expect(f32BitsToBf16(0x3f800000)).toBe(0x3f80); // 1
    expect(f32BitsToBf16(0x3f808000)).toBe(0x3f80); // tie, keep even
    expect(f32BitsToBf16(0x3f818000)).toBe(0x3f82); // tie, round up to even
    expect(f32BitsToBf16(0x3f808001)).toBe(0x3f81); // above the tie
    expect(f32BitsToBf16(0x3f807fff)).toBe(0x3f80); // below the tie
    expect(f32BitsToBf16(0x7f7fffff)).toBe(0x7f80); // largest f32 rounds to inf
    expect(f32BitsToBf16(0xff800000)).toBe(0xff80); // -inf
    expect(f32BitsToBf16(0x00000001)).toBe(0x0000); // subnormals are rounded, not flushed
    expect(f32BitsToBf16(0x00018000)).toBe(0x0002);
    expect(f32BitsToBf16(0x7f800001)).toBe(0x7fc0); // signalling NaN made quiet: (bits >> 16) | 64
    expect(f32BitsToBf16(0xffc12345)).toBe(0xffc1);
    expect(f32ToBf16(-2.5)).toBe(0xc020);
  });

  it('decodes exactly and round-trips every non-NaN bf16', () => {
    expect(bf16ToF32(0x3f80)).toBe(1);
    expect(bf16ToF32(0xc020)).toBe(-2.5);
    let mismatches = 0;
    for (let h = 0; h < 65536; h++) {
      if ((h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0) continue;
      if (f32ToBf16(bf16ToF32(h)) !== h) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('bulk encode/decode agree with the scalar functions', () => {
    const values = new Float32Array([1, -2.5, 3.14159, 1e-40, 3e38, NaN]);
    const bytes = new Uint8Array(values.length * 2);
    encodeBf16(values, bytes, values.length);
    const back = new Float32Array(values.length);
    decodeBf16(bytes, back, values.length);
    for (let i = 0; i < values.length; i++) {
      const h = bytes[2 * i] | (bytes[2 * i + 1] << 8);
      expect(h).toBe(f32ToBf16(values[i]));
      if (Number.isNaN(values[i])) expect(back[i]).toBeNaN();
      else expect(back[i]).toBe(bf16ToF32(h));
    }
  });
});
