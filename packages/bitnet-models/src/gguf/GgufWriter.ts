import * as fs from 'node:fs';
import { BitnetModelError } from '../errors';
import { ggmlTensorByteSize, ggmlTypeName } from '../tensor/GgmlType';
import { GgufMetadata } from './GgufMetadata';
import { GGML_MAX_DIMS, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GgufArrayValue, GgufValue, GgufValueType } from './GgufTypes';

/** Settings of a `GgufWriter`. */
export interface GgufWriterOptions {
  /** GGUF version to write: 3 (default) or 2. */
  version?: 2 | 3;
  /** Data alignment; written as `general.alignment` when it is not the default 32. */
  alignment?: number;
}

/** Tensor bytes, or a function producing them when the file is written (keeps big models out of memory). */
export type TensorDataSource = Uint8Array | (() => Uint8Array);

interface PendingTensor {
  name: string;
  dims: number[];
  type: number;
  byteSize: number;
  data: TensorDataSource;
  offset: number;
}

/** Growable little-endian byte buffer for the header. */
class ByteSink {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number) { this.reserve(1); this.buf.writeUInt8(v, this.length); this.length += 1; }
  i8(v: number) { this.reserve(1); this.buf.writeInt8(v, this.length); this.length += 1; }
  u16(v: number) { this.reserve(2); this.buf.writeUInt16LE(v, this.length); this.length += 2; }
  i16(v: number) { this.reserve(2); this.buf.writeInt16LE(v, this.length); this.length += 2; }
  u32(v: number) { this.reserve(4); this.buf.writeUInt32LE(v, this.length); this.length += 4; }
  i32(v: number) { this.reserve(4); this.buf.writeInt32LE(v, this.length); this.length += 4; }
  f32(v: number) { this.reserve(4); this.buf.writeFloatLE(v, this.length); this.length += 4; }
  f64(v: number) { this.reserve(8); this.buf.writeDoubleLE(v, this.length); this.length += 8; }
  u64(v: bigint) { this.reserve(8); this.buf.writeBigUInt64LE(v, this.length); this.length += 8; }
  i64(v: bigint) { this.reserve(8); this.buf.writeBigInt64LE(v, this.length); this.length += 8; }
  str(s: string) {
    const n = Buffer.byteLength(s, 'utf8');
    this.u64(BigInt(n));
    this.reserve(n);
    this.buf.write(s, this.length, 'utf8');
    this.length += n;
  }
  pad(alignment: number) {
    const n = (alignment - (this.length % alignment)) % alignment;
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/**
 * Writes GGUF v3 (or v2) files: metadata in insertion order, tensor infos, aligned tensor data.
 * Every tensor's byte length is checked against its type and shape before anything is written.
 */
export class GgufWriter {
  readonly metadata = new GgufMetadata();
  private readonly tensors: PendingTensor[] = [];
  private readonly version: 2 | 3;
  private readonly alignment: number;
  private dataSize = 0;

  constructor(options: GgufWriterOptions = {}) {
    this.version = options.version ?? 3;
    this.alignment = options.alignment ?? GGUF_DEFAULT_ALIGNMENT;
    if (this.alignment <= 0 || (this.alignment & (this.alignment - 1)) !== 0) {
      throw new BitnetModelError('BAD_ARGUMENT', `alignment ${this.alignment} is not a power of two`);
    }
    if (this.alignment !== GGUF_DEFAULT_ALIGNMENT) {
      this.metadata.set('general.alignment', { type: GgufValueType.UINT32, value: this.alignment });
    }
  }

  /** Sets a metadata key of the file to write. */
  set(key: string, value: GgufValue): this {
    this.metadata.set(key, value);
    return this;
  }

  /**
   * Adds a tensor. `dims` lists ne[0] (the contiguous dimension) first. When `data` is a function it
   * is called once, at write time, and must return exactly the tensor's byte size.
   */
  addTensor(name: string, dims: readonly number[], type: number, data: TensorDataSource): this {
    if (this.tensors.some((t) => t.name === name)) throw new BitnetModelError('BAD_ARGUMENT', `tensor '${name}' added twice`);
    if (dims.length < 1 || dims.length > GGML_MAX_DIMS || dims.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new BitnetModelError('BAD_ARGUMENT', `tensor '${name}' has invalid dimensions [${dims.join(', ')}]`);
    }
    const byteSize = ggmlTensorByteSize(type, dims);
    if (byteSize === undefined) {
      throw new BitnetModelError('BAD_ARGUMENT', `tensor '${name}': type ${ggmlTypeName(type)} cannot hold shape [${dims.join(', ')}]`);
    }
    if (typeof data !== 'function' && data.length !== byteSize) {
      throw new BitnetModelError('BAD_ARGUMENT', `tensor '${name}' has ${data.length} bytes of data, its type and shape need ${byteSize}`);
    }
    const offset = this.dataSize;
    this.tensors.push({ name, dims: [...dims], type, byteSize, data, offset });
    this.dataSize = alignUp(offset + byteSize, this.alignment);
    return this;
  }

  /** The header: magic through the padding before the data section. */
  private header(): Buffer {
    const s = new ByteSink();
    s.u32(GGUF_MAGIC);
    s.u32(this.version);
    s.u64(BigInt(this.tensors.length));
    s.u64(BigInt(this.metadata.size));
    for (const [key, value] of this.metadata.entries()) {
      s.str(key);
      s.i32(value.type);
      writeValue(s, value);
    }
    for (const t of this.tensors) {
      s.str(t.name);
      s.u32(t.dims.length);
      for (const d of t.dims) s.u64(BigInt(d));
      s.i32(t.type);
      s.u64(BigInt(t.offset));
    }
    s.pad(this.alignment);
    return s.bytes();
  }

  private *chunks(): Generator<Uint8Array> {
    yield this.header();
    for (const t of this.tensors) {
      const data = typeof t.data === 'function' ? t.data() : t.data;
      if (data.length !== t.byteSize) {
        throw new BitnetModelError('BAD_ARGUMENT', `tensor '${t.name}' produced ${data.length} bytes, its type and shape need ${t.byteSize}`);
      }
      yield data;
      const pad = alignUp(t.byteSize, this.alignment) - t.byteSize;
      if (pad > 0) yield new Uint8Array(pad);
    }
  }

  /** The whole file in memory (small models and tests). */
  toBuffer(): Buffer {
    return Buffer.concat([...this.chunks()]);
  }

  /** Writes the file, tensor by tensor; a partly written file is removed on error. */
  writeFile(path: string): void {
    const fd = fs.openSync(path, 'w');
    try {
      for (const chunk of this.chunks()) {
        let done = 0;
        while (done < chunk.length) done += fs.writeSync(fd, chunk, done, chunk.length - done);
      }
      fs.closeSync(fd);
    } catch (e) {
      fs.closeSync(fd);
      fs.rmSync(path, { force: true });
      throw e;
    }
  }
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function writeScalar(s: ByteSink, type: GgufValueType, v: unknown): void {
  switch (type) {
    case GgufValueType.UINT8: return s.u8(v as number);
    case GgufValueType.INT8: return s.i8(v as number);
    case GgufValueType.UINT16: return s.u16(v as number);
    case GgufValueType.INT16: return s.i16(v as number);
    case GgufValueType.UINT32: return s.u32(v as number);
    case GgufValueType.INT32: return s.i32(v as number);
    case GgufValueType.FLOAT32: return s.f32(v as number);
    case GgufValueType.FLOAT64: return s.f64(v as number);
    case GgufValueType.UINT64: return s.u64(BigInt(v as bigint));
    case GgufValueType.INT64: return s.i64(BigInt(v as bigint));
    case GgufValueType.BOOL: return s.u8(v ? 1 : 0);
    case GgufValueType.STRING: return s.str(v as string);
    default: throw new BitnetModelError('BAD_ARGUMENT', `cannot write value type ${type}`);
  }
}

function writeValue(s: ByteSink, value: GgufValue): void {
  if (value.type !== GgufValueType.ARRAY) return writeScalar(s, value.type, value.value);
  writeArray(s, value);
}

function writeArray(s: ByteSink, a: GgufArrayValue): void {
  s.i32(a.elementType);
  s.u64(BigInt(a.value.length));
  if (a.elementType === GgufValueType.ARRAY) for (const inner of a.value as GgufArrayValue[]) writeArray(s, inner);
  else for (const v of a.value as unknown[]) writeScalar(s, a.elementType, v);
}
