import { GgufFormatError, UnsupportedTensorTypeError } from '../errors';
import { GgmlType, ggmlTensorByteSize, ggmlTypeName, ggmlTypeTraits } from '../tensor/GgmlType';
import { BufferSource, ByteCursor, ByteSource, FileSource } from './ByteSource';
import { GgufMetadata } from './GgufMetadata';
import { GgufSkippedArray, GgufStringArray } from './GgufStringArray';
import {
  GGML_MAX_DIMS,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GgufArrayValue,
  GgufTensorInfo,
  GgufValue,
  GgufValueType,
  ggufMinEncodedSize,
  ggufValueTypeName,
} from './GgufTypes';

/** Nested arrays deeper than this are rejected (no real model nests at all). */
const MAX_ARRAY_DEPTH = 8;
/** Smallest possible tensor info: u64 name length, u32 n_dims, one u64 ne, i32 type, u64 offset. */
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8;
/** Smallest possible metadata entry: u64 key length, i32 type, one byte of value. */
const MIN_KV_BYTES = 8 + 4 + 1;

/** What the header of a GGUF file holds: version, metadata, tensor infos and where the data starts. */
export interface GgufHeader {
  version: number;
  alignment: number;
  metadata: GgufMetadata;
  tensors: GgufTensorInfo[];
  /** Absolute file offset of the data section. */
  dataOffset: number;
  /** Size in bytes of the whole file. */
  fileSize: number;
}

/** How strictly a GGUF file is read. */
export interface GgufReadOptions {
  /**
   * Accept tensors of known ggml types this project cannot compute with (IQ*, TL1, TL2, ...),
   * e.g. to list them. Their sizes are then unknown and their data cannot be read. Default false:
   * such a tensor is an UnsupportedTensorTypeError naming it.
   */
  allowUnsupportedTypes?: boolean;
  /**
   * Arrays whose values the caller does not need (called with each top-level array's key; e.g. a
   * weights loader skipping `tokenizer.ggml.*`). A skipped array is read and checked exactly like a
   * kept one (element type, length against the bytes left, every string's length inside the file,
   * bool bytes, nesting), so a malformed file fails with the same GgufFormatError, but its values are
   * not kept: the metadata holds a GgufSkippedArray for the key (`has` is true, `skippedArray` gives
   * its element type and length) and every accessor that needs the values throws a MetadataError.
   * Values that are not arrays are always kept.
   */
  skipArrays?: (key: string) => boolean;
}

/**
 * Parses the header, metadata and tensor infos of a GGUF v2/v3 file and checks that every tensor
 * lies inside the file, aligned and without overlap. Throws GgufFormatError (or
 * UnsupportedTensorTypeError) on the first problem; allocations are bounded by the source size.
 */
export function parseGgufHeader(source: ByteSource, options: GgufReadOptions = {}): GgufHeader {
  const c = new ByteCursor(source);
  const magic = c.u32('the magic');
  if (magic !== GGUF_MAGIC) {
    throw new GgufFormatError('BAD_MAGIC', `not a GGUF file: magic is 0x${magic.toString(16).padStart(8, '0')}, expected "GGUF"`, 0);
  }
  const version = c.u32('the version');
  if (version !== 2 && version !== 3) {
    const swapped = ((version & 0xff) << 24) | ((version >>> 8) & 0xff) << 16;
    const hint = version === 1 ? ' (GGUF v1 is obsolete)' : swapped === 0x03000000 || swapped === 0x02000000 ? ' (a big-endian file?)' : '';
    throw new GgufFormatError('BAD_VERSION', `unsupported GGUF version ${version}${hint}; versions 2 and 3 are supported`, 4);
  }
  const tensorCount = boundedCount(c, c.u64('the tensor count'), MIN_TENSOR_INFO_BYTES, 'tensor count');
  const kvCount = boundedCount(c, c.u64('the metadata count'), MIN_KV_BYTES, 'metadata count');

  const metadata = new GgufMetadata();
  for (let i = 0; i < kvCount; i++) {
    const keyAt = c.pos;
    const key = readString(c, 'a metadata key');
    if (metadata.has(key)) throw new GgufFormatError('DUPLICATE_KEY', `metadata key '${key}' appears twice`, keyAt);
    const typeAt = c.pos;
    const type = c.i32(`the type of '${key}'`);
    if (type === GgufValueType.ARRAY) readTopLevelArray(c, key, options.skipArrays?.(key) ?? false, metadata);
    else metadata.set(key, readValue(c, type, typeAt, key, 0));
  }

  const alignment = readAlignment(metadata);
  const infos: Array<Omit<GgufTensorInfo, 'byteSize'> & { byteSize: number | undefined; at: number }> = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const at = c.pos;
    const name = readString(c, 'a tensor name');
    if (names.has(name)) throw new GgufFormatError('DUPLICATE_TENSOR', `tensor '${name}' appears twice`, at);
    names.add(name);
    const nDims = c.u32(`the dimension count of '${name}'`);
    if (nDims < 1 || nDims > GGML_MAX_DIMS) {
      throw new GgufFormatError('BAD_TENSOR_INFO', `tensor '${name}' has ${nDims} dimensions; 1 to ${GGML_MAX_DIMS} are allowed`, at);
    }
    const dims: number[] = [];
    let elementCount = 1;
    for (let d = 0; d < nDims; d++) {
      const ne = c.u64(`a dimension of '${name}'`);
      if (ne < 1n || ne > BigInt(source.size) * 8n) {
        throw new GgufFormatError('BAD_TENSOR_INFO', `tensor '${name}' has dimension ${d} = ${ne}, impossible for a ${source.size}-byte file`, at);
      }
      dims.push(Number(ne));
      elementCount *= Number(ne);
    }
    if (elementCount > source.size * 8) {
      throw new GgufFormatError('BAD_TENSOR_INFO', `tensor '${name}' claims ${elementCount} elements, impossible for a ${source.size}-byte file`, at);
    }
    const typeAt = c.pos;
    const type = c.i32(`the type of '${name}'`);
    const offset = c.u64(`the offset of '${name}'`);
    if (GgmlType[type] === undefined) {
      throw new GgufFormatError('BAD_TENSOR_INFO', `tensor '${name}' has unknown ggml type id ${type}`, typeAt);
    }
    let byteSize: number | undefined;
    if (ggmlTypeTraits(type)) {
      byteSize = ggmlTensorByteSize(type, dims);
      if (byteSize === undefined) {
        const traits = ggmlTypeTraits(type)!;
        throw new GgufFormatError(
          'BAD_TENSOR_INFO',
          `tensor '${name}' of type ${traits.name} has ne[0] = ${dims[0]}, not a multiple of the block size ${traits.blockSize}`,
          at,
        );
      }
    } else if (!options.allowUnsupportedTypes) {
      throw new UnsupportedTensorTypeError(name, type, ggmlTypeName(type));
    }
    if (offset > BigInt(source.size)) {
      throw new GgufFormatError('BAD_OFFSET', `tensor '${name}' has data offset ${offset}, past the end of the ${source.size}-byte file`, at);
    }
    infos.push({ name, dims, type, offset: Number(offset), elementCount, byteSize, at });
  }

  const dataOffset = alignUp(c.pos, alignment);
  if (infos.length > 0 && dataOffset > source.size) {
    throw new GgufFormatError('TRUNCATED', `file ends before its data section (which starts at ${dataOffset})`, c.pos);
  }
  const dataSize = Math.max(0, source.size - dataOffset);
  checkPlacement(infos, alignment, dataOffset, dataSize);
  const tensors = infos.map(({ at: _at, byteSize, ...rest }) => ({ ...rest, byteSize: byteSize ?? 0 }));
  return { version, alignment, metadata, tensors, dataOffset, fileSize: source.size };
}

function checkPlacement(
  infos: Array<{ name: string; offset: number; byteSize: number | undefined; at: number }>,
  alignment: number,
  dataOffset: number,
  dataSize: number,
): void {
  for (const t of infos) {
    if (t.offset % alignment !== 0) {
      throw new GgufFormatError('BAD_ALIGNMENT', `tensor '${t.name}' data offset ${t.offset} is not a multiple of the alignment ${alignment}`, t.at);
    }
    if (t.byteSize !== undefined && t.offset + t.byteSize > dataSize) {
      throw new GgufFormatError(
        'BAD_OFFSET',
        `tensor '${t.name}' needs bytes ${dataOffset + t.offset}..${dataOffset + t.offset + t.byteSize} but the file has ${dataOffset + dataSize}`,
        t.at,
      );
    }
  }
  const placed = infos.filter((t) => t.byteSize !== undefined && t.byteSize > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < placed.length; i++) {
    const prev = placed[i - 1];
    const cur = placed[i];
    if (prev.offset + prev.byteSize! > cur.offset) {
      throw new GgufFormatError('OVERLAPPING_TENSORS', `tensors '${prev.name}' and '${cur.name}' overlap in the data section`, cur.at);
    }
  }
}

function readAlignment(md: GgufMetadata): number {
  // (a skipped array has no value to return, but its type is known: the same error as when kept)
  const v = md.skippedArray('general.alignment') ?? md.raw('general.alignment');
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (v.type !== GgufValueType.UINT32) {
    throw new GgufFormatError('BAD_ALIGNMENT', `general.alignment must be a u32, but it is ${ggufValueTypeName(v.type)}`);
  }
  const a = v.value;
  if (a === 0 || (a & (a - 1)) !== 0) throw new GgufFormatError('BAD_ALIGNMENT', `general.alignment = ${a} is not a power of two`);
  return a;
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** A count from the file, checked against the bytes left: each item needs at least `minBytes`. */
function boundedCount(c: ByteCursor, count: bigint, minBytes: number, what: string): number {
  if (count * BigInt(minBytes) > BigInt(c.remaining)) {
    throw new GgufFormatError('BAD_COUNT', `${what} ${count} cannot fit in the ${c.remaining} bytes left in the file`, c.pos - 8);
  }
  return Number(count);
}

function readString(c: ByteCursor, what: string): string {
  return c.utf8(c.stringLength(what), what);
}

function readValue(c: ByteCursor, type: number, typeAt: number, key: string, depth: number): GgufValue {
  if (type === GgufValueType.ARRAY) return readArray(c, key, depth);
  return { type, value: readScalar(c, type, typeAt, key) } as GgufValue;
}

/** A value that is not an array, bare (array elements are kept without a wrapper object each). */
function readScalar(c: ByteCursor, type: number, typeAt: number, key: string): number | bigint | boolean | string {
  switch (type) {
    case GgufValueType.UINT8:
      return c.u8();
    case GgufValueType.INT8:
      return c.i8();
    case GgufValueType.UINT16:
      return c.u16();
    case GgufValueType.INT16:
      return c.i16();
    case GgufValueType.UINT32:
      return c.u32();
    case GgufValueType.INT32:
      return c.i32();
    case GgufValueType.FLOAT32:
      return c.f32();
    case GgufValueType.FLOAT64:
      return c.f64();
    case GgufValueType.UINT64:
      return c.u64();
    case GgufValueType.INT64:
      return c.i64();
    case GgufValueType.BOOL: {
      const at = c.pos;
      const b = c.u8();
      if (b > 1) throw new GgufFormatError('BAD_VALUE_TYPE', `bool '${key}' has byte value ${b}`, at);
      return b === 1;
    }
    case GgufValueType.STRING:
      return readString(c, `the string value of '${key}'`);
    default:
      throw new GgufFormatError('BAD_VALUE_TYPE', `metadata '${key}' has unknown value type ${type}`, typeAt);
  }
}

/** An array's element type and length (checked against the bytes left). */
interface ArrayHead {
  elementType: GgufValueType;
  count: number;
  typeAt: number;
}

function readArrayHead(c: ByteCursor, key: string, depth: number): ArrayHead {
  if (depth >= MAX_ARRAY_DEPTH) throw new GgufFormatError('BAD_VALUE_TYPE', `metadata '${key}' nests arrays deeper than ${MAX_ARRAY_DEPTH}`, c.pos);
  const typeAt = c.pos;
  const elementType = c.i32(`the element type of '${key}'`);
  if (GgufValueType[elementType] === undefined) {
    throw new GgufFormatError('BAD_VALUE_TYPE', `array '${key}' has unknown element type ${elementType}`, typeAt);
  }
  const count = boundedCount(c, c.u64(`the length of array '${key}'`), ggufMinEncodedSize(elementType), `length of array '${key}'`);
  return { elementType, count, typeAt };
}

function readArray(c: ByteCursor, key: string, depth: number): GgufArrayValue {
  return readArrayBody(c, key, readArrayHead(c, key, depth), depth);
}

function readArrayBody(c: ByteCursor, key: string, head: ArrayHead, depth: number): GgufArrayValue {
  const { elementType, count, typeAt } = head;
  // Grown as elements are actually read: the count only bounds the loop.
  const values: unknown[] = [];
  for (let i = 0; i < count; i++) {
    if (elementType === GgufValueType.ARRAY) values.push(readArray(c, key, depth + 1));
    else values.push(readScalar(c, elementType, typeAt, key));
  }
  return { type: GgufValueType.ARRAY, elementType, value: values } as GgufArrayValue;
}

/**
 * A metadata value that is an array: skipped (checked, not kept), or kept, string arrays packed
 * (GgufStringArray: their UTF-8 bytes, no JS string per element). Every path reads and checks the
 * same bytes in the same order as readArray, so errors do not depend on the path.
 */
function readTopLevelArray(c: ByteCursor, key: string, skip: boolean, metadata: GgufMetadata): void {
  const head = readArrayHead(c, key, 0);
  if (skip) {
    skipElements(c, key, head, 0);
    metadata.setSkipped(key, new GgufSkippedArray(head.elementType, head.count));
  } else if (head.elementType === GgufValueType.STRING) {
    metadata.setStringArray(key, readPackedStrings(c, key, head.count));
  } else {
    metadata.set(key, readArrayBody(c, key, head, 0));
  }
}

/**
 * The elements of a string array, packed. A first pass over the length prefixes (the same checks,
 * so the same errors) gives the exact byte total, so the buffer is allocated once at its size.
 */
function readPackedStrings(c: ByteCursor, key: string, count: number): GgufStringArray {
  const what = `the string value of '${key}'`;
  const start = c.pos;
  for (let i = 0; i < count; i++) c.skip(c.stringLength(what), what);
  const total = c.pos - start - 8 * count;
  c.pos = start;
  const bytes = Buffer.allocUnsafe(total);
  // offsets past 4 GiB do not fit a Uint32Array
  const offsets = total > 0xffffffff ? new Float64Array(count + 1) : new Uint32Array(count + 1);
  let used = 0;
  for (let i = 0; i < count; i++) {
    const len = c.stringLength(what);
    c.copyTo(bytes, used, len, what);
    used += len;
    offsets[i + 1] = used;
  }
  return new GgufStringArray(bytes, offsets);
}

/** Reads and checks the elements of an array (nested ones included) without keeping them. */
function skipElements(c: ByteCursor, key: string, head: ArrayHead, depth: number): void {
  const { elementType, count, typeAt } = head;
  if (elementType === GgufValueType.STRING) {
    const what = `the string value of '${key}'`;
    for (let i = 0; i < count; i++) c.skip(c.stringLength(what), what);
  } else if (elementType === GgufValueType.ARRAY) {
    for (let i = 0; i < count; i++) skipElements(c, key, readArrayHead(c, key, depth + 1), depth + 1);
  } else {
    for (let i = 0; i < count; i++) readScalar(c, elementType, typeAt, key);
  }
}

export { BufferSource, FileSource };
