/**
 * IEEE half precision (f16) and bfloat16 (bf16) conversions, bit-compatible with ggml.
 *
 * - f16 → f32 is exact (every f16 value, NaN payloads included, has an f32 twin).
 * - f32 → f16 rounds to nearest, ties to even, with subnormals, overflow to ±inf, and NaN mapped to
 *   the quiet NaN 0x7e00 with the input's sign (ggml's portable conversion does the same; the F16C
 *   instruction would instead keep the top payload bits, which only matters for NaN inputs).
 * - f32 → bf16 follows ggml_compute_fp32_to_bf16: round to nearest even on the raw bits (subnormals
 *   kept), NaN made quiet by setting bit 6 of the truncated value.
 *
 * JS numbers are doubles: the scalar f32→x functions first round the number to f32, because ggml
 * only ever converts f32 values. Bulk functions work on Float32Array bits and never allocate per
 * element. Byte buffers are little-endian, as in GGUF files.
 */

// One scratch word shared by the scalar conversions (reinterpret f32 <-> u32 without allocating).
const SCRATCH_F32 = new Float32Array(1);
const SCRATCH_U32 = new Uint32Array(SCRATCH_F32.buffer);

/** 2^52: adding and subtracting it rounds a non-negative double below 2^51 to an integer, ties to even. */
const ROUND_MAGIC = 4503599627370496;

/** Raw bits of the f32 nearest to `value`. */
export function f32Bits(value: number): number {
  SCRATCH_F32[0] = value;
  return SCRATCH_U32[0];
}

/** The f32 whose raw bits are `bits` (NaN payloads may not survive the trip through a JS number). */
export function f32FromBits(bits: number): number {
  SCRATCH_U32[0] = bits;
  return SCRATCH_F32[0];
}

/** f32 raw bits → f16 raw bits, round to nearest even. */
export function f32BitsToF16(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const abs = bits & 0x7fffffff;
  if (abs >= 0x7f800000) {
    // Infinity stays infinity, any NaN becomes the canonical quiet NaN.
    return sign | (abs > 0x7f800000 ? 0x7e00 : 0x7c00);
  }
  if (abs >= 0x477ff000) {
    // 65520 is halfway between 65504 (largest f16, odd mantissa) and 65536: ties go to even = inf.
    return sign | 0x7c00;
  }
  if (abs >= 0x38800000) {
    // Normal f16 range (>= 2^-14). Drop 13 mantissa bits with round-half-even; a carry out of the
    // mantissa correctly bumps the exponent. 0x38000000 re-biases the exponent from 127 to 15.
    const rounded = abs + 0x0fff + ((abs >>> 13) & 1);
    return sign | ((rounded - 0x38000000) >>> 13);
  }
  // Subnormal f16 (or zero): the result is round_half_even(|x| / 2^-24), at most 1024 (which is the
  // bit pattern of the smallest normal, 2^-14, so no special case is needed).
  SCRATCH_U32[0] = abs;
  const scaled = SCRATCH_F32[0] * 16777216; // exact: a power-of-two scaling of an f32
  return sign | (scaled + ROUND_MAGIC - ROUND_MAGIC);
}

/** Number → f16 raw bits (the number is rounded to f32 first, like every ggml input). */
export function f32ToF16(value: number): number {
  SCRATCH_F32[0] = value;
  return f32BitsToF16(SCRATCH_U32[0]);
}

/** f16 raw bits → f32 raw bits (exact). */
export function f16ToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal f16: the value mant · 2^-24 is a normal f32; build it with float math, it is exact.
  SCRATCH_F32[0] = mant * 5.9604644775390625e-8;
  return (SCRATCH_U32[0] | sign) >>> 0;
}

let f16TableBits: Uint32Array | undefined;
let f16TableF32: Float32Array | undefined;

/** f32 bits of all 65536 f16 values, built on first use (256 KiB). */
export function f16ToF32BitsTable(): Uint32Array {
  if (!f16TableBits) {
    const bits = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) bits[h] = f16ToF32Bits(h);
    f16TableBits = bits;
    f16TableF32 = new Float32Array(bits.buffer);
  }
  return f16TableBits;
}

/** All 65536 f16 values as f32 (a view of the same table as f16ToF32BitsTable). */
export function f16ToF32Table(): Float32Array {
  f16ToF32BitsTable();
  return f16TableF32 as Float32Array;
}

/** f16 raw bits → number (exact). */
export function f16ToF32(h: number): number {
  return f16ToF32Table()[h & 0xffff];
}

/** f32 raw bits → bf16 raw bits, like ggml_compute_fp32_to_bf16. */
export function f32BitsToBf16(bits: number): number {
  const u = bits >>> 0;
  if ((u & 0x7fffffff) > 0x7f800000) return (u >>> 16) | 0x40;
  // u + 0x8000 stays below 2^32 for every non-NaN pattern, so >>> 16 sees no wrap-around.
  return (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
}

/** Number → bf16 raw bits (rounded to f32 first). */
export function f32ToBf16(value: number): number {
  SCRATCH_F32[0] = value;
  return f32BitsToBf16(SCRATCH_U32[0]);
}

/** bf16 raw bits → number (exact: bf16 is the top half of an f32). */
export function bf16ToF32(h: number): number {
  SCRATCH_U32[0] = (h & 0xffff) << 16;
  return SCRATCH_F32[0];
}

/** Bit view of a Float32Array (same memory). */
export function f32BitsView(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

/** Reads `count` little-endian f16 values starting at src[0] into out[0..count). NaN bits are kept. */
export function decodeF16(src: Uint8Array, out: Float32Array, count: number): void {
  const table = f16ToF32BitsTable();
  const outBits = f32BitsView(out);
  for (let i = 0, p = 0; i < count; i++, p += 2) {
    outBits[i] = table[src[p] | (src[p + 1] << 8)];
  }
}

/** Writes `count` values of `values` as little-endian f16 into dst[0..2·count). */
export function encodeF16(values: Float32Array, dst: Uint8Array, count: number): void {
  const bits = f32BitsView(values);
  for (let i = 0, p = 0; i < count; i++, p += 2) {
    const h = f32BitsToF16(bits[i]);
    dst[p] = h & 0xff;
    dst[p + 1] = h >>> 8;
  }
}

/** Reads `count` little-endian bf16 values into out[0..count). */
export function decodeBf16(src: Uint8Array, out: Float32Array, count: number): void {
  const outBits = f32BitsView(out);
  for (let i = 0, p = 0; i < count; i++, p += 2) {
    outBits[i] = (src[p] << 16) | (src[p + 1] << 24);
  }
}

/** Writes `count` values of `values` as little-endian bf16 into dst[0..2·count). */
export function encodeBf16(values: Float32Array, dst: Uint8Array, count: number): void {
  const bits = f32BitsView(values);
  for (let i = 0, p = 0; i < count; i++, p += 2) {
    const h = f32BitsToBf16(bits[i]);
    dst[p] = h & 0xff;
    dst[p + 1] = h >>> 8;
  }
}

/** Little-endian f16 at src[offset] as a number. */
export function readF16(src: Uint8Array, offset: number): number {
  return f16ToF32Table()[src[offset] | (src[offset + 1] << 8)];
}

/** Writes `value` as little-endian f16 at dst[offset]; returns the f16 value actually stored. */
export function writeF16(dst: Uint8Array, offset: number, value: number): number {
  const h = f32ToF16(value);
  dst[offset] = h & 0xff;
  dst[offset + 1] = h >>> 8;
  return f16ToF32Table()[h];
}
