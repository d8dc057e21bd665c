/**
 * Codecs of the unquantized types: F32 (4 bytes), F16 and BF16 (2 bytes), all little-endian.
 * Every function works on whole typed arrays without per-element allocation; NaN bit patterns are
 * copied as they are when decoding.
 */
import { decodeBf16, decodeF16, encodeBf16, encodeF16 } from '../f16';

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Copies `count` little-endian f32 values from src[0..4·count) into out[0..count). */
export function dequantizeF32(src: Uint8Array, out: Float32Array, count: number): void {
  if (HOST_LITTLE_ENDIAN) {
    // A byte copy: alignment of `src` does not matter and NaN payloads are preserved.
    new Uint8Array(out.buffer, out.byteOffset, count * 4).set(src.subarray(0, count * 4));
    return;
  }
  const view = new DataView(src.buffer, src.byteOffset, count * 4);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
}

/** The little-endian F32 bytes of the values. */
export function quantizeF32(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  if (HOST_LITTLE_ENDIAN) {
    out.set(new Uint8Array(values.buffer, values.byteOffset, values.length * 4));
    return out;
  }
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  return out;
}

/** Decodes `count` F16 values into `out`. */
export function dequantizeF16(src: Uint8Array, out: Float32Array, count: number): void {
  decodeF16(src, out, count);
}

/** Encodes values as F16. */
export function quantizeF16(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  encodeF16(values, out, values.length);
  return out;
}

/** Decodes `count` BF16 values into `out`. */
export function dequantizeBf16(src: Uint8Array, out: Float32Array, count: number): void {
  decodeBf16(src, out, count);
}

/** Encodes values as BF16. */
export function quantizeBf16(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  encodeBf16(values, out, values.length);
  return out;
}
