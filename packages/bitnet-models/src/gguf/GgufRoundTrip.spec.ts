import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgmlType } from '../tensor/GgmlType';
import { FileSource } from './ByteSource';
import { GgufFile } from './GgufFile';
import { gguf } from './GgufMetadata';
import { GgufValue, GgufValueType } from './GgufTypes';
import { GgufWriter } from './GgufWriter';

function everyValueType(): Array<[string, GgufValue]> {
  return [
    ['t.u8', gguf.u8(255)],
    ['t.i8', gguf.i8(-128)],
    ['t.u16', gguf.u16(65535)],
    ['t.i16', gguf.i16(-32768)],
    ['t.u32', gguf.u32(4294967295)],
    ['t.i32', gguf.i32(-2147483648)],
    ['t.f32', gguf.f32(Math.fround(3.14159))],
    ['t.f64', gguf.f64(Math.PI)],
    ['t.u64', gguf.u64(18446744073709551615n)],
    ['t.i64', gguf.i64(-9223372036854775808n)],
    ['t.bool.true', gguf.bool(true)],
    ['t.bool.false', gguf.bool(false)],
    ['t.str', gguf.str('héllo 世界 🤖')],
    ['t.str.empty', gguf.str('')],
    ['t.arr.str', gguf.strings(['a', '', 'Ġthe', '<|eot_id|>'])],
    ['t.arr.i32', gguf.i32s([1, -2, 3])],
    ['t.arr.f32', gguf.f32s([0.5, -1.25])],
    ['t.arr.u64', { type: GgufValueType.ARRAY, elementType: GgufValueType.UINT64, value: [1n, 2n ** 40n] }],
    ['t.arr.bool', { type: GgufValueType.ARRAY, elementType: GgufValueType.BOOL, value: [true, false, true] }],
    ['t.arr.empty', { type: GgufValueType.ARRAY, elementType: GgufValueType.INT8, value: [] }],
    [
      't.arr.nested',
      {
        type: GgufValueType.ARRAY,
        elementType: GgufValueType.ARRAY,
        value: [
          { type: GgufValueType.ARRAY, elementType: GgufValueType.STRING, value: ['x', 'y'] },
          {
            type: GgufValueType.ARRAY,
            elementType: GgufValueType.ARRAY,
            value: [{ type: GgufValueType.ARRAY, elementType: GgufValueType.INT16, value: [-7, 7] }],
          },
        ],
      },
    ],
  ];
}

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 17) & 0xff;
  return b;
}

describe('GGUF writer/reader round trip', () => {
  it.each([2, 3] as const)('keeps every metadata value type, nested arrays included (v%i)', (version) => {
    const w = new GgufWriter({ version });
    for (const [k, v] of everyValueType()) w.set(k, v);
    const f = GgufFile.fromBuffer(w.toBuffer());
    expect(f.version).toBe(version);
    expect(f.metadata.keys()).toEqual(everyValueType().map(([k]) => k));
    for (const [k, v] of everyValueType()) expect(f.metadata.raw(k)).toEqual(v);
  });

  it('places tensors at aligned offsets and returns their exact bytes', () => {
    for (const alignment of [32, 64, 256]) {
      const w = new GgufWriter({ alignment });
      w.set('general.architecture', gguf.str('test'));
      const a = bytes(4 * 7, 1);
      const b = bytes(2 * 3 * 5, 2);
      const c = bytes(66 * 2, 3);
      w.addTensor('a', [7], GgmlType.F32, a);
      w.addTensor('b', [3, 5], GgmlType.F16, () => b);
      w.addTensor('c', [256, 2], GgmlType.TQ2_0, c);
      const f = GgufFile.fromBuffer(w.toBuffer());
      expect(f.alignment).toBe(alignment);
      expect(f.dataOffset % alignment).toBe(0);
      expect(f.tensors.map((t) => [t.name, t.dims, t.type, t.elementCount, t.byteSize])).toEqual([
        ['a', [7], GgmlType.F32, 7, 28],
        ['b', [3, 5], GgmlType.F16, 15, 30],
        ['c', [256, 2], GgmlType.TQ2_0, 512, 132],
      ]);
      for (const t of f.tensors) expect(t.offset % alignment).toBe(0);
      expect(Buffer.from(f.tensorData('a'))).toEqual(Buffer.from(a));
      expect(Buffer.from(f.tensorData('b'))).toEqual(Buffer.from(b));
      expect(Buffer.from(f.tensorData('c'))).toEqual(Buffer.from(c));
    }
  });

  it('reads files from disk lazily, tensor by tensor', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-rt-'));
    const file = path.join(dir, 'm.gguf');
    const big = bytes(128 * 64 / 4 + 32, 9);
    const w = new GgufWriter();
    w.set('general.name', gguf.str('disk'));
    w.addTensor('w', [128, 64], GgmlType.I2_S, big);
    w.writeFile(file);
    const f = GgufFile.open(file);
    try {
      expect(f.metadata.getString('general.name')).toBe('disk');
      expect(f.tensor('w').byteSize).toBe(big.length);
      expect(Buffer.from(f.tensorData('w'))).toEqual(Buffer.from(big));
      expect(f.fileSize).toBe(fs.statSync(file).size);
    } finally {
      f.close();
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('reads a tensor for conversion into a caller\'s scratch buffer, through the file even with an image in use', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-conv-'));
    const file = path.join(dir, 'm.gguf');
    const a = bytes(54 * 6, 4);
    const b = bytes(54 * 2, 5);
    const w = new GgufWriter();
    w.addTensor('a', [256, 6], GgmlType.TQ1_0, a);
    w.addTensor('b', [256, 2], GgmlType.TQ1_0, b);
    w.writeFile(file);
    const image = new Uint8Array(fs.readFileSync(file));
    const f = GgufFile.open(file);
    try {
      const scratch = new Uint8Array(a.length);
      for (const withImage of [false, true]) {
        if (withImage) f.useImage(image);
        const ra = f.tensorDataForConversion('a', 0, undefined, scratch);
        expect(ra.buffer).toBe(scratch.buffer); // no fresh buffer per tensor
        expect(Buffer.from(ra)).toEqual(Buffer.from(a));
        const rb = f.tensorDataForConversion('b', 54, 54, scratch);
        expect(rb.buffer).toBe(scratch.buffer);
        expect(Buffer.from(rb)).toEqual(Buffer.from(b.subarray(54)));
        // without a scratch: the same bytes in a buffer of their own, never a view of the image
        const own = f.tensorDataForConversion('a');
        expect(Buffer.from(own)).toEqual(Buffer.from(a));
        expect(own.buffer).not.toBe(image.buffer);
        expect(own.buffer).not.toBe(scratch.buffer);
        expect(() => f.tensorDataForConversion('a', 0, undefined, new Uint8Array(a.length - 1))).toThrow(/scratch buffer holds/);
        expect(() => f.tensorDataForConversion('b', 60, 54, scratch)).toThrow(RangeError);
      }
    } finally {
      f.close();
      fs.rmSync(dir, { recursive: true });
    }
    // an in-memory file: a view of its bytes, scratch or not
    const m = GgufFile.fromBuffer(image);
    const v = m.tensorDataForConversion('a', 0, undefined, new Uint8Array(a.length));
    expect(v.buffer).toBe(image.buffer);
    expect(Buffer.from(v)).toEqual(Buffer.from(a));
  });

  it('opening reads the header only; each tensor is read once, when asked for', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-lazy-'));
    const file = path.join(dir, 'big.gguf');
    const w = new GgufWriter();
    w.set('tokenizer.ggml.tokens', gguf.strings(Array.from({ length: 50_000 }, (_, i) => `tok${i}`)));
    w.addTensor('a', [1024, 4096], GgmlType.F32, () => new Uint8Array(1024 * 4096 * 4));
    w.addTensor('b', [1024, 2048], GgmlType.F16, () => new Uint8Array(1024 * 2048 * 2));
    w.writeFile(file);
    let read = 0;
    class CountingSource extends FileSource {
      override read(offset: number, length: number): Uint8Array {
        read += length;
        return super.read(offset, length);
      }
    }
    const f = GgufFile.fromSource(new CountingSource(file), {}, file);
    try {
      expect(f.metadata.getStringArray('tokenizer.ggml.tokens')).toHaveLength(50_000);
      // the header plus at most one read-ahead chunk (1 MiB) — not the 20 MB of tensor data
      expect(read).toBeLessThanOrEqual(f.dataOffset + (1 << 20));
      read = 0;
      expect(f.tensorData('b').length).toBe(1024 * 2048 * 2);
      expect(read).toBe(1024 * 2048 * 2);
    } finally {
      f.close();
      fs.rmSync(dir, { recursive: true });
    }
  });

  it('rejects tensors whose data does not match type and shape', () => {
    const w = new GgufWriter();
    expect(() => w.addTensor('x', [100], GgmlType.TQ2_0, new Uint8Array(66))).toThrow(/cannot hold shape/);
    expect(() => w.addTensor('x', [256], GgmlType.TQ2_0, new Uint8Array(65))).toThrow(/need 66/);
    expect(() => w.addTensor('x', [0], GgmlType.F32, new Uint8Array(0))).toThrow(/invalid dimensions/);
  });

  it('typed accessors name the key on a missing or mistyped value', () => {
    const w = new GgufWriter();
    w.set('a.str', gguf.str('x')).set('a.num', gguf.u32(5)).set('a.big', gguf.u64(2n ** 60n));
    const md = GgufFile.fromBuffer(w.toBuffer()).metadata;
    expect(md.getInteger('a.num')).toBe(5);
    expect(() => md.getString('a.num')).toThrow(/'a.num' must be a string, but it is UINT32/);
    expect(() => md.getNumber('a.missing')).toThrow(/'a.missing' is missing/);
    expect(() => md.getNumber('a.big')).toThrow(/does not fit/);
    expect(md.optString('a.missing')).toBeUndefined();
  });
});
