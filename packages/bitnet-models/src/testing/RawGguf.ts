/** Test helper: GGUF images assembled by hand, byte by byte, to build broken files on purpose. */

/** Little-endian hand assembly of (possibly broken) GGUF images; every method appends and returns this. */
export class RawGguf {
  private parts: Buffer[] = [];
  u32(v: number) { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); this.parts.push(b); return this; }
  i32(v: number) { const b = Buffer.alloc(4); b.writeInt32LE(v); this.parts.push(b); return this; }
  u64(v: bigint | number) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.parts.push(b); return this; }
  u8(v: number) { this.parts.push(Buffer.from([v])); return this; }
  str(s: string) { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.parts.push(b); return this; }
  raw(bytes: Uint8Array) { this.parts.push(Buffer.from(bytes)); return this; }
  bytes(n: number) { this.parts.push(Buffer.alloc(n, 0xab)); return this; }
  header(version: number, tensors: bigint | number, kvs: bigint | number) { return this.u32(0x46554747).u32(version).u64(tensors).u64(kvs); }
  tensor(name: string, dims: number[], type: number, offset: bigint | number) {
    this.str(name).u32(dims.length);
    for (const d of dims) this.u64(d);
    return this.i32(type).u64(offset);
  }
  padTo(alignment: number) { const n = this.length % alignment; if (n) this.bytes(alignment - n); return this; }
  get length() { return this.parts.reduce((s, p) => s + p.length, 0); }
  build() { return Buffer.concat(this.parts); }
}

