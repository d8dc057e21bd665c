import * as fs from 'node:fs';
import { GgufFormatError } from '../errors';

/** Random-access bytes: a file read on demand, or a buffer already in memory. */
export interface ByteSource {
  readonly size: number;
  /** Bytes [offset, offset+length); the caller guarantees the range is inside the source. */
  read(offset: number, length: number): Uint8Array;
  /** Releases the underlying file (reads fail afterwards). */
  close(): void;
}

export class BufferSource implements ByteSource {
  constructor(private readonly bytes: Uint8Array) {}
  get size(): number {
    return this.bytes.length;
  }
  read(offset: number, length: number): Uint8Array {
    return this.bytes.subarray(offset, offset + length);
  }
  /** Nothing to release for an in-memory buffer. */
  close(): void {}
}

/** Reads a file through a descriptor, so parsing the header never loads the tensor data. */
export class FileSource implements ByteSource {
  private fd: number | undefined;
  readonly size: number;

  constructor(readonly path: string) {
    try {
      this.fd = fs.openSync(path, 'r');
      this.size = fs.fstatSync(this.fd).size;
    } catch (cause) {
      if (this.fd !== undefined) fs.closeSync(this.fd);
      throw new GgufFormatError('IO_ERROR', `cannot open '${path}': ${(cause as Error).message}`, undefined, { cause });
    }
  }

  read(offset: number, length: number): Uint8Array {
    const out = Buffer.allocUnsafe(length);
    this.readInto(offset, out, length);
    return out;
  }

  /** Bytes [offset, offset+length) into out[0, length) (the caller checks the range, as for read). */
  readInto(offset: number, out: Uint8Array, length: number): void {
    if (this.fd === undefined) throw new GgufFormatError('IO_ERROR', `'${this.path}' is closed`);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, out, done, Math.min(length - done, 1 << 30), offset + done);
      if (n === 0) throw new GgufFormatError('TRUNCATED', `'${this.path}' ended early (was it modified while open?)`, offset + done);
      done += n;
    }
  }

  /** Closes the file descriptor. */
  close(): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

const CHUNK = 1 << 20;

/**
 * A little-endian cursor over a ByteSource that pulls the source in chunks as parsing advances.
 * Every read is checked against the source size first, so a length taken from the file can never
 * cause a read (or an allocation) beyond the bytes that exist.
 */
export class ByteCursor {
  private buf: Buffer = Buffer.alloc(0);
  private view = new DataView(this.buf.buffer);
  private bufStart = 0;
  /** The chunk buffer reused for every read of a file (a header is read through one 1 MiB buffer). */
  private scratch: Buffer | undefined;
  pos = 0;

  constructor(private readonly source: ByteSource) {}

  get size(): number {
    return this.source.size;
  }

  get remaining(): number {
    return this.source.size - this.pos;
  }

  /** `prefix` + `what` names the value in the error (joined only then: no string per call). */
  private ensure(n: number, what: string, prefix = ''): number {
    if (n > this.remaining) {
      throw new GgufFormatError('TRUNCATED', `file ends inside ${prefix}${what}: needs ${n} bytes, ${this.remaining} left`, this.pos);
    }
    let rel = this.pos - this.bufStart;
    if (rel < 0 || rel + n > this.buf.length) {
      const len = Math.min(Math.max(n, CHUNK), this.source.size - this.pos);
      if (this.source instanceof FileSource && len <= CHUNK) {
        this.scratch ??= Buffer.allocUnsafe(CHUNK);
        this.source.readInto(this.pos, this.scratch, len);
        this.buf = this.scratch.subarray(0, len);
      } else {
        const chunk = this.source.read(this.pos, len);
        this.buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      }
      this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
      this.bufStart = this.pos;
      rel = 0;
    }
    this.pos += n;
    return rel;
  }

  u8(what = 'a u8'): number {
    const at = this.ensure(1, what);
    return this.view.getUint8(at);
  }
  i8(what = 'an i8'): number {
    const at = this.ensure(1, what);
    return this.view.getInt8(at);
  }
  u16(what = 'a u16'): number {
    const at = this.ensure(2, what);
    return this.view.getUint16(at, true);
  }
  i16(what = 'an i16'): number {
    const at = this.ensure(2, what);
    return this.view.getInt16(at, true);
  }
  u32(what = 'a u32'): number {
    const at = this.ensure(4, what);
    return this.view.getUint32(at, true);
  }
  i32(what = 'an i32'): number {
    const at = this.ensure(4, what);
    return this.view.getInt32(at, true);
  }
  f32(what = 'an f32'): number {
    const at = this.ensure(4, what);
    return this.view.getFloat32(at, true);
  }
  f64(what = 'an f64'): number {
    const at = this.ensure(8, what);
    return this.view.getFloat64(at, true);
  }
  u64(what = 'a u64'): bigint {
    const at = this.ensure(8, what);
    return this.view.getBigUint64(at, true);
  }
  i64(what = 'an i64'): bigint {
    const at = this.ensure(8, what);
    return this.view.getBigInt64(at, true);
  }

  /**
   * A u64 length prefix of `what` (a string's byte count), checked against the bytes left after it:
   * BAD_STRING when it claims more. Read as two u32 halves, so the ~400k strings of a LLaMA-3
   * vocabulary do not each make BigInts (a BigInt is built only for the error message).
   */
  stringLength(what: string): number {
    const at = this.pos;
    const rel = this.ensure(8, what, 'the length of ');
    const lo = this.view.getUint32(rel, true);
    const hi = this.view.getUint32(rel + 4, true);
    const len = hi * 4294967296 + lo; // exact below 2^53; above, still larger than any file
    if (len > this.remaining) {
      const exact = (BigInt(hi) << 32n) | BigInt(lo);
      throw new GgufFormatError('BAD_STRING', `${what} claims ${exact} bytes but only ${this.remaining} are left in the file`, at);
    }
    return len;
  }

  /** Copies the next `length` bytes to target[at, at + length). */
  copyTo(target: Uint8Array, at: number, length: number, what: string): void {
    const rel = this.ensure(length, what);
    if (length > 32) {
      this.buf.copy(target, at, rel, rel + length);
      return;
    }
    // a vocabulary's ~400k short strings: a loop costs less than Buffer.copy's call into C++ each
    const buf = this.buf;
    for (let k = 0; k < length; k++) target[at + k] = buf[rel + k];
  }

  /** The next `length` bytes, as a view valid until the next read (copy them to keep them). */
  bytes(length: number, what: string): Uint8Array {
    const rel = this.ensure(length, what);
    return this.buf.subarray(rel, rel + length);
  }

  /** Moves past `length` bytes without reading them (TRUNCATED when fewer are left). */
  skip(length: number, what: string): void {
    if (length > this.remaining) {
      throw new GgufFormatError('TRUNCATED', `file ends inside ${what}: needs ${length} bytes, ${this.remaining} left`, this.pos);
    }
    this.pos += length;
  }

  /** UTF-8 text of `length` bytes; the length must already be checked against `remaining`. */
  utf8(length: number, what: string): string {
    const rel = this.ensure(length, what);
    // (ensure may swap the buffer, so it is read only after the call)
    return this.buf.toString('utf8', rel, rel + length);
  }
}
