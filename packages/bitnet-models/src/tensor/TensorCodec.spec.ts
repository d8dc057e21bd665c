import { BitnetModelError } from '../errors';
import { f16ToF32, f32ToF16 } from './f16';
import { GgmlType, ggmlTensorByteSize } from './GgmlType';
import { dequantize, dequantizeRows, dequantizeRowsInto, isCodecSupported, quantize, quantizeTernary } from './TensorCodec';
import { TensorCodecError } from './TensorCodecError';
import { rng } from '../testing/uniform';


function randomValues(seed: number, n: number): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => next() * 4 - 2);
}

const tritOf = (e: number): number => ((e * 13 + (e >> 6)) % 3) - 1;

/** Runs `fn` and returns the TensorCodecError it throws. */
function codecError(fn: () => unknown): TensorCodecError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TensorCodecError);
    expect(e).toBeInstanceOf(BitnetModelError);
    return e as TensorCodecError;
  }
  throw new Error('expected a TensorCodecError');
}

const ALL = [
  GgmlType.F32,
  GgmlType.F16,
  GgmlType.BF16,
  GgmlType.Q8_0,
  GgmlType.Q4_K,
  GgmlType.Q6_K,
  GgmlType.TQ1_0,
  GgmlType.TQ2_0,
  GgmlType.I2_S,
];

describe('TensorCodec', () => {
  it('supports exactly the nine codec types', () => {
    for (const t of ALL) expect(isCodecSupported(t)).toBe(true);
    expect(isCodecSupported(GgmlType.Q4_0)).toBe(false);
    expect(isCodecSupported(GgmlType.TL1)).toBe(false);
  });

  it.each(ALL.map((t) => [GgmlType[t], t]))('%s: quantize size matches ggmlTensorByteSize and rows decode like the whole', (_name, type) => {
    const rowLength = 768; // 3 blocks of 256, 6 of 128, 24 of 32
    const rows = 5;
    const values = randomValues(type, rowLength * rows);
    const bytes = quantize(type, values, rowLength);
    expect(bytes.length).toBe(ggmlTensorByteSize(type, [rowLength, rows]));
    const whole = dequantize(type, bytes, values.length);
    expect(whole.length).toBe(values.length);
    const rows13 = dequantizeRows(type, bytes, rowLength, 1, 3, values.length);
    expect(Array.from(rows13)).toEqual(Array.from(whole.subarray(rowLength, 4 * rowLength)));
    // Into a caller buffer, one row at a time (the embedding-lookup path).
    const row = new Float32Array(rowLength);
    dequantizeRowsInto(type, bytes, rowLength, 4, 1, row, values.length);
    expect(Array.from(row)).toEqual(Array.from(whole.subarray(4 * rowLength)));
  });

  it('round-trips F32 exactly and F16/BF16 to their rounded values, at odd sizes', () => {
    const values = randomValues(1, 21); // 3 rows of 7
    values[0] = NaN;
    values[1] = -0;
    expect(Array.from(dequantize(GgmlType.F32, quantize(GgmlType.F32, values, 7), 21))).toEqual(Array.from(values));
    const f16 = dequantize(GgmlType.F16, quantize(GgmlType.F16, values, 7), 21);
    expect(f16[0]).toBeNaN();
    for (let i = 1; i < 21; i++) expect(f16[i]).toBe(f16ToF32(f32ToF16(values[i])));
    expect(Object.is(f16[1], -0)).toBe(true);
    const bf16 = dequantize(GgmlType.BF16, quantize(GgmlType.BF16, values, 7), 21);
    for (let i = 1; i < 21; i++) expect(Math.abs(bf16[i] - values[i])).toBeLessThanOrEqual(Math.abs(values[i]) * 2 ** -8);
  });

  it('reads F32 and F16 rows from an unaligned slice of a larger buffer', () => {
    const values = randomValues(2, 3 * 5);
    for (const type of [GgmlType.F32, GgmlType.F16]) {
      const bytes = quantize(type, values, 5);
      const host = new Uint8Array(bytes.length + 3);
      host.set(bytes, 3);
      const view = host.subarray(3);
      expect(Array.from(dequantizeRows(type, view, 5, 2, 1))).toEqual(Array.from(dequantize(type, bytes, 15).subarray(10)));
    }
  });

  it('I2_S rows need the tensor size, because the scale follows the whole tensor', () => {
    const trits = Int8Array.from({ length: 384 * 3 }, (_, e) => tritOf(e));
    const bytes = quantizeTernary(GgmlType.I2_S, trits, 0.5, 384);
    expect(bytes.length).toBe(ggmlTensorByteSize(GgmlType.I2_S, [384, 3]));
    const row2 = dequantizeRows(GgmlType.I2_S, bytes, 384, 2, 1, trits.length);
    for (let i = 0; i < 384; i++) expect(row2[i]).toBe(tritOf(768 + i) * 0.5);
    expect(codecError(() => dequantizeRows(GgmlType.I2_S, bytes, 384, 0, 1)).code).toBe('BAD_ARGUMENT');
  });

  it('quantizeTernary packs TQ blocks with per-block or single scales', () => {
    const trits = Int8Array.from({ length: 512 * 2 }, (_, e) => tritOf(e));
    const scales = new Float32Array([0.5, 0.25, 2, 0.125]);
    for (const type of [GgmlType.TQ1_0, GgmlType.TQ2_0] as const) {
      const bytes = quantizeTernary(type, trits, scales, 512);
      expect(bytes.length).toBe(ggmlTensorByteSize(type, [512, 2]));
      const out = dequantize(type, bytes, trits.length);
      for (let e = 0; e < trits.length; e++) expect(out[e]).toBe(tritOf(e) * scales[e >> 8]);
      // Same bytes as quantizing the floats.
      const floats = Float32Array.from(trits, (t, e) => t * scales[e >> 8]);
      expect(Array.from(quantize(type, floats, 512))).toEqual(Array.from(bytes));
      const single = dequantize(type, quantizeTernary(type, trits, 3, 512), trits.length);
      for (let e = 0; e < trits.length; e++) expect(single[e]).toBe(tritOf(e) * 3);
    }
  });

  it('quantizeTernary rejects bad trits, scale counts and non-ternary types', () => {
    const trits = new Int8Array(256);
    trits[17] = 2;
    const bad = codecError(() => quantizeTernary(GgmlType.TQ2_0, trits, 1, 256));
    expect(bad.code).toBe('BAD_TERNARY_VALUE');
    expect(bad.message).toContain('trit 17 is 2');
    const ok = new Int8Array(512);
    expect(codecError(() => quantizeTernary(GgmlType.TQ1_0, ok, new Float32Array(3), 512)).code).toBe('BAD_ARGUMENT');
    expect(codecError(() => quantizeTernary(GgmlType.I2_S, ok, new Float32Array(2), 512)).code).toBe('BAD_ARGUMENT');
    const notTernary = codecError(() => quantizeTernary(GgmlType.Q8_0 as GgmlType.TQ1_0, ok, 1, 512));
    expect(notTernary.message).toContain('Q8_0');
  });

  it('names unsupported and unknown types', () => {
    const q40 = codecError(() => dequantize(GgmlType.Q4_0, new Uint8Array(18), 32));
    expect(q40.code).toBe('UNSUPPORTED_TENSOR_TYPE');
    expect(q40.message).toContain('Q4_0');
    expect(codecError(() => quantize(99 as GgmlType, new Float32Array(4), 4)).message).toContain('unknown type 99');
  });

  it('rejects counts and row lengths that are not whole blocks', () => {
    const e1 = codecError(() => dequantize(GgmlType.Q4_K, new Uint8Array(1000), 300));
    expect(e1.code).toBe('BAD_TENSOR_SHAPE');
    expect(e1.message).toContain('Q4_K block size 256');
    expect(codecError(() => quantize(GgmlType.Q8_0, new Float32Array(40), 40)).code).toBe('BAD_TENSOR_SHAPE');
    expect(codecError(() => quantize(GgmlType.I2_S, new Float32Array(192), 192)).code).toBe('BAD_TENSOR_SHAPE');
    expect(codecError(() => quantize(GgmlType.F16, new Float32Array(10), 4)).code).toBe('BAD_TENSOR_SHAPE');
    expect(codecError(() => quantize(GgmlType.F16, new Float32Array(10), 0)).code).toBe('BAD_ARGUMENT');
    expect(codecError(() => dequantize(GgmlType.F16, new Uint8Array(10), 2.5)).code).toBe('BAD_ARGUMENT');
  });

  it('rejects buffers that are too short, incl. a missing I2_S trailer', () => {
    const short = codecError(() => dequantize(GgmlType.Q6_K, new Uint8Array(209), 256));
    expect(short.code).toBe('TRUNCATED_TENSOR_DATA');
    expect(short.message).toContain('210');
    expect(codecError(() => dequantize(GgmlType.I2_S, new Uint8Array(32 + 31), 128)).code).toBe('TRUNCATED_TENSOR_DATA');
    expect(codecError(() => dequantizeRows(GgmlType.TQ2_0, new Uint8Array(66 * 3), 256, 2, 2)).code).toBe('TRUNCATED_TENSOR_DATA');
    expect(codecError(() => dequantizeRows(GgmlType.F32, new Uint8Array(64), 4, 3, 2, 16)).code).toBe('BAD_ARGUMENT');
    expect(codecError(() => dequantizeRowsInto(GgmlType.F32, new Uint8Array(64), 4, 0, 2, new Float32Array(7))).code).toBe('BAD_ARGUMENT');
  });

  it('handles empty tensors', () => {
    expect(dequantize(GgmlType.Q8_0, new Uint8Array(0), 0).length).toBe(0);
    expect(quantize(GgmlType.TQ1_0, new Float32Array(0), 256).length).toBe(0);
    expect(quantize(GgmlType.I2_S, new Float32Array(0), 128).length).toBe(32);
  });
});
