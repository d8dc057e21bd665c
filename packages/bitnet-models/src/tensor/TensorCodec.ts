/**
 * Public entry points of the reference tensor codecs: dequantize ggml tensor data to f32 and
 * quantize f32 (or trits) into ggml's byte layouts. Everything is checked before any byte is read:
 * type, shape (whole blocks per row) and buffer length, with TensorCodecError naming the problem.
 */
import { dequantizeBf16, dequantizeF16, dequantizeF32, quantizeBf16, quantizeF16, quantizeF32 } from './codecs/FloatCodecs';
import { dequantizeI2SBlocks, dequantizeI2_S, encodeI2_S, quantizeI2_S, readI2SScale } from './codecs/I2_S';
import { dequantizeQ4_K, quantizeQ4_K } from './codecs/Q4_K';
import { dequantizeQ6_K, quantizeQ6_K } from './codecs/Q6_K';
import { dequantizeQ8_0, encodeQ8_0Blocks } from './codecs/Q8_0';
import { dequantizeTQ1_0, encodeTQ1_0Block, quantizeTQ1_0, TQ1_0_BLOCK_BYTES } from './codecs/TQ1_0';
import { dequantizeTQ2_0, encodeTQ2_0Block, quantizeTQ2_0, TQ2_0_BLOCK_BYTES } from './codecs/TQ2_0';
import { findInvalidTrit } from './codecs/ternary';
import { GgmlType, ggmlTypeName, ggmlTypeTraits, I2S_TRAILER_BYTES } from './GgmlType';
import { TensorCodecError } from './TensorCodecError';
import { describeValue } from '../describeValue';

type Decode = (src: Uint8Array, out: Float32Array, count: number) => void;
type Encode = (values: Float32Array) => Uint8Array;

interface Codec {
  readonly blockSize: number;
  readonly blockBytes: number;
  readonly decode: Decode;
  readonly encode: Encode;
}

function codec(type: GgmlType, decode: Decode, encode: Encode): [GgmlType, Codec] {
  const traits = ggmlTypeTraits(type);
  if (!traits) throw new Error(`internal: no traits for ${ggmlTypeName(type)}`);
  return [type, { blockSize: traits.blockSize, blockBytes: traits.typeSize, decode, encode }];
}

const CODECS = new Map<number, Codec>([
  codec(GgmlType.F32, dequantizeF32, quantizeF32),
  codec(GgmlType.F16, dequantizeF16, quantizeF16),
  codec(GgmlType.BF16, dequantizeBf16, quantizeBf16),
  codec(GgmlType.Q8_0, dequantizeQ8_0, encodeQ8_0Blocks),
  codec(GgmlType.Q4_K, dequantizeQ4_K, quantizeQ4_K),
  codec(GgmlType.Q6_K, dequantizeQ6_K, quantizeQ6_K),
  codec(GgmlType.TQ1_0, dequantizeTQ1_0, quantizeTQ1_0),
  codec(GgmlType.TQ2_0, dequantizeTQ2_0, quantizeTQ2_0),
  codec(GgmlType.I2_S, dequantizeI2_S, quantizeI2_S),
]);

/** Types these codecs can dequantize and quantize. */
export function isCodecSupported(type: number): boolean {
  return CODECS.has(type);
}

function codecOf(type: number): Codec {
  const c = CODECS.get(type);
  if (!c) {
    throw new TensorCodecError('UNSUPPORTED_TENSOR_TYPE', `tensor type ${ggmlTypeName(type)} (id ${type}) has no codec`);
  }
  return c;
}

function checkCount(what: string, n: number, min = 0): void {
  if (!Number.isSafeInteger(n) || n < min) {
    throw new TensorCodecError('BAD_ARGUMENT', `${what} must be an integer >= ${min}, got ${describeValue(n)}`);
  }
}

function checkWholeBlocks(type: number, c: Codec, what: string, n: number): void {
  if (n % c.blockSize !== 0) {
    throw new TensorCodecError(
      'BAD_TENSOR_SHAPE',
      `${what} ${n} is not a multiple of the ${ggmlTypeName(type)} block size ${c.blockSize}`,
    );
  }
}

function checkLength(type: number, data: Uint8Array, needed: number, what: string): void {
  if (data.length < needed) {
    throw new TensorCodecError(
      'TRUNCATED_TENSOR_DATA',
      `${ggmlTypeName(type)} ${what} needs ${needed} bytes, buffer has ${data.length}`,
    );
  }
}

/** Bytes of `count` values (whole blocks) of a type, without the I2_S trailer. */
function packedBytes(c: Codec, count: number): number {
  return (count / c.blockSize) * c.blockBytes;
}

/** Dequantizes a whole tensor of `elementCount` values. */
export function dequantize(type: GgmlType, data: Uint8Array, elementCount: number): Float32Array {
  const c = codecOf(type);
  checkCount('elementCount', elementCount);
  checkWholeBlocks(type, c, 'element count', elementCount);
  const trailer = type === GgmlType.I2_S ? I2S_TRAILER_BYTES : 0;
  checkLength(type, data, packedBytes(c, elementCount) + trailer, `tensor of ${elementCount} values`);
  const out = new Float32Array(elementCount);
  c.decode(data, out, elementCount);
  return out;
}

/**
 * Dequantizes rows [firstRow, firstRow + rowCount) of a 2-D tensor whose rows have `rowLength`
 * values into `out` (at least rowCount·rowLength long), e.g. an embedding lookup. I2_S needs
 * `tensorElementCount` because its scale follows the packed bytes of the whole tensor; for the
 * other types it is optional and, when given, bounds the row range.
 */
export function dequantizeRowsInto(
  type: GgmlType,
  data: Uint8Array,
  rowLength: number,
  firstRow: number,
  rowCount: number,
  out: Float32Array,
  tensorElementCount?: number,
): void {
  const c = codecOf(type);
  checkCount('rowLength', rowLength, 1);
  checkCount('firstRow', firstRow);
  checkCount('rowCount', rowCount);
  checkWholeBlocks(type, c, 'row length', rowLength);
  const count = rowLength * rowCount;
  if (out.length < count) {
    throw new TensorCodecError('BAD_ARGUMENT', `output holds ${out.length} values, ${count} needed`);
  }
  if (tensorElementCount !== undefined) {
    checkCount('tensorElementCount', tensorElementCount);
    if (tensorElementCount % rowLength !== 0) {
      throw new TensorCodecError('BAD_TENSOR_SHAPE', `tensor of ${tensorElementCount} values is not whole rows of ${rowLength}`);
    }
    const rows = tensorElementCount / rowLength;
    if (firstRow + rowCount > rows) {
      throw new TensorCodecError('BAD_ARGUMENT', `rows ${firstRow}..${firstRow + rowCount - 1} are outside the tensor's ${rows} rows`);
    }
  }
  const rowBytes = packedBytes(c, rowLength);
  const start = firstRow * rowBytes;
  const end = start + rowCount * rowBytes;
  if (type === GgmlType.I2_S) {
    if (tensorElementCount === undefined) {
      throw new TensorCodecError('BAD_ARGUMENT', 'I2_S rows need tensorElementCount: the scale follows the whole tensor');
    }
    const tensorPacked = packedBytes(c, tensorElementCount);
    checkLength(type, data, tensorPacked + I2S_TRAILER_BYTES, `tensor of ${tensorElementCount} values`);
    dequantizeI2SBlocks(data.subarray(start, end), out, count, readI2SScale(data, tensorPacked));
    return;
  }
  checkLength(type, data, end, `rows ${firstRow}..${firstRow + rowCount - 1} of ${rowLength} values`);
  c.decode(data.subarray(start, end), out, count);
}

/** Like dequantizeRowsInto, returning a new Float32Array of rowCount·rowLength values. */
export function dequantizeRows(
  type: GgmlType,
  data: Uint8Array,
  rowLength: number,
  firstRow: number,
  rowCount: number,
  tensorElementCount?: number,
): Float32Array {
  checkCount('rowLength', rowLength, 1);
  checkCount('rowCount', rowCount);
  const out = new Float32Array(rowLength * rowCount);
  dequantizeRowsInto(type, data, rowLength, firstRow, rowCount, out, tensorElementCount);
  return out;
}

function checkQuantizeShape(type: number, c: Codec, length: number, rowLength: number): void {
  checkCount('rowLength', rowLength, 1);
  checkWholeBlocks(type, c, 'row length (ne0)', rowLength);
  if (length % rowLength !== 0) {
    throw new TensorCodecError('BAD_TENSOR_SHAPE', `${length} values are not whole rows of ${rowLength}`);
  }
}

/**
 * Quantizes row-major values (rows of `rowLength` = ne[0]) into `type`'s layout. The result has
 * ggmlTensorByteSize(type, [rowLength, values.length / rowLength]) bytes.
 */
export function quantize(type: GgmlType, values: Float32Array, rowLength: number): Uint8Array {
  const c = codecOf(type);
  checkQuantizeShape(type, c, values.length, rowLength);
  // Every codec works block by block and rows are whole blocks, so the flat array can be encoded
  // in one go (I2_S's single scale is per tensor anyway).
  return c.encode(values);
}

/** The ggml types that hold ternary weights. */
export type TernaryType = GgmlType.TQ1_0 | GgmlType.TQ2_0 | GgmlType.I2_S;

/**
 * Packs trits (−1, 0, +1, row-major, rows of `rowLength`) with their scale(s) directly, without a
 * float round trip. `scale`: for I2_S one number for the tensor; for TQ1_0/TQ2_0 one number for
 * every 256-block, or a Float32Array with one scale per 256-block (or a single entry). TQ scales
 * are stored as f16.
 */
export function quantizeTernary(type: TernaryType, trits: Int8Array, scale: number | Float32Array, rowLength: number): Uint8Array {
  if (type !== GgmlType.TQ1_0 && type !== GgmlType.TQ2_0 && type !== GgmlType.I2_S) {
    throw new TensorCodecError('UNSUPPORTED_TENSOR_TYPE', `${ggmlTypeName(type)} (id ${type}) is not a ternary type`);
  }
  const c = codecOf(type);
  checkQuantizeShape(type, c, trits.length, rowLength);
  const bad = findInvalidTrit(trits);
  if (bad >= 0) {
    throw new TensorCodecError('BAD_TERNARY_VALUE', `trit ${bad} is ${trits[bad]}, expected -1, 0 or 1`);
  }
  const blocks = trits.length / c.blockSize;
  if (type === GgmlType.I2_S) {
    if (typeof scale !== 'number' && scale.length !== 1) {
      throw new TensorCodecError('BAD_ARGUMENT', `I2_S takes one scale per tensor, got ${scale.length}`);
    }
    return encodeI2_S(trits, typeof scale === 'number' ? scale : scale[0]);
  }
  if (typeof scale !== 'number' && scale.length !== 1 && scale.length !== blocks) {
    throw new TensorCodecError('BAD_ARGUMENT', `${ggmlTypeName(type)} needs 1 or ${blocks} scales (one per 256-block), got ${scale.length}`);
  }
  const encodeBlock = type === GgmlType.TQ1_0 ? encodeTQ1_0Block : encodeTQ2_0Block;
  const blockBytes = type === GgmlType.TQ1_0 ? TQ1_0_BLOCK_BYTES : TQ2_0_BLOCK_BYTES;
  const out = new Uint8Array(blocks * blockBytes);
  for (let b = 0; b < blocks; b++) {
    const d = typeof scale === 'number' ? scale : scale.length === 1 ? scale[0] : scale[b];
    encodeBlock(trits, b * c.blockSize, d, out, b * blockBytes);
  }
  return out;
}
