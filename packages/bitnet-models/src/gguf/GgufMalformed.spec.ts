import { GgufFormatError, UnsupportedTensorTypeError } from '../errors';
import { GgmlType } from '../tensor/GgmlType';
import { GgufFile } from './GgufFile';
import { gguf } from './GgufMetadata';
import { GgufWriter } from './GgufWriter';
import { RawGguf as Raw } from '../testing/RawGguf';

function expectGgufError(bytes: Uint8Array, code: string, message?: RegExp): GgufFormatError {
  const t0 = performance.now();
  let err: unknown;
  try {
    GgufFile.fromBuffer(bytes);
  } catch (e) {
    err = e;
  }
  const ms = performance.now() - t0;
  expect(err).toBeInstanceOf(GgufFormatError);
  const g = err as GgufFormatError;
  expect(g.code).toBe(code);
  if (message) expect(g.message).toMatch(message);
  expect(ms).toBeLessThan(250); // "within milliseconds"; generous for a loaded CI box
  return g;
}

function validModel(): Buffer {
  const w = new GgufWriter();
  w.set('general.architecture', gguf.str('bitnet'));
  w.set('tokenizer.ggml.tokens', gguf.strings(['a', 'b', 'c']));
  w.set('some.scores', gguf.f32s([0.1, 0.2, 0.3]));
  w.addTensor('t0', [256, 2], GgmlType.TQ2_0, new Uint8Array(132).fill(0x55));
  w.addTensor('t1', [8], GgmlType.F32, new Uint8Array(32));
  return w.toBuffer();
}

describe('malformed GGUF input', () => {
  it('bad magic', () => {
    const b = validModel();
    b.write('GGML', 0, 'latin1');
    expectGgufError(b, 'BAD_MAGIC', /not a GGUF file/);
    expectGgufError(Buffer.from('hello world, not a model at all'), 'BAD_MAGIC');
  });

  it.each([0, 1, 4, 99, 0x03000000])('version %i is rejected', (v) => {
    const b = validModel();
    b.writeUInt32LE(v, 4);
    expectGgufError(b, 'BAD_VERSION', new RegExp(`version ${v}`));
  });

  it('a cut inside a string length prefix names the array', () => {
    const w = new GgufWriter();
    w.set('tokenizer.ggml.tokens', gguf.strings(['a'.repeat(20), 'b']));
    const b = w.toBuffer();
    const second = b.indexOf(Buffer.from('a'.repeat(20))) + 20; // where 'b's length prefix starts
    expectGgufError(b.subarray(0, second + 3), 'TRUNCATED', /file ends inside the length of the string value of 'tokenizer\.ggml\.tokens': needs 8 bytes, 3 left/);
  });

  it('truncation at every byte of every section gives a typed error', () => {
    const b = validModel();
    const full = GgufFile.fromBuffer(b);
    const end = full.dataOffset + full.tensorBytes; // last tensor ends here (any padding after it is optional)
    for (let n = 0; n < end; n++) {
      let err: unknown;
      try {
        GgufFile.fromBuffer(b.subarray(0, n));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(GgufFormatError);
      expect(['TRUNCATED', 'BAD_COUNT', 'BAD_STRING', 'BAD_OFFSET']).toContain((err as GgufFormatError).code);
    }
  });

  it('absurd counts and lengths are refused before anything is allocated for them', () => {
    const before = process.memoryUsage();
    expectGgufError(new Raw().header(3, 2n ** 63n, 0).build(), 'BAD_COUNT', /tensor count/);
    expectGgufError(new Raw().header(3, 0, 2n ** 64n - 1n).build(), 'BAD_COUNT', /metadata count/);
    expectGgufError(new Raw().header(3, 0, 1).u64(2n ** 63n - 1n).bytes(16).build(), 'BAD_STRING', /metadata key/);
    expectGgufError(new Raw().header(3, 0, 1).str('k').i32(8).u64(2n ** 40n).bytes(64).build(), 'BAD_STRING', /'k'/);
    // 100 million u64 claimed, 64 bytes present
    expectGgufError(new Raw().header(3, 0, 1).str('arr').i32(9).i32(10).u64(100_000_000).bytes(64).build(), 'BAD_COUNT', /array 'arr'/);
    // nested array claiming 2^62 inner arrays
    expectGgufError(new Raw().header(3, 0, 1).str('n').i32(9).i32(9).u64(2n ** 62n).bytes(64).build(), 'BAD_COUNT');
    // a tensor with 2^40 x 2^40 elements
    expectGgufError(new Raw().header(3, 1, 0).tensor('huge', [2 ** 40, 2 ** 40], GgmlType.F32, 0).padTo(32).bytes(64).build(), 'BAD_TENSOR_INFO', /'huge'/);
    expectGgufError(new Raw().header(3, 1, 0).str('t').u32(1000).bytes(64).build(), 'BAD_TENSOR_INFO', /1000 dimensions/);
    const after = process.memoryUsage();
    expect(after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers)).toBeLessThan(64 * 1024 * 1024);
  });

  it('unknown value types and array element types', () => {
    expectGgufError(new Raw().header(3, 0, 1).str('k').i32(13).bytes(8).build(), 'BAD_VALUE_TYPE', /'k' has unknown value type 13/);
    expectGgufError(new Raw().header(3, 0, 1).str('k').i32(-1).bytes(8).build(), 'BAD_VALUE_TYPE');
    expectGgufError(new Raw().header(3, 0, 1).str('k').i32(9).i32(77).u64(1).bytes(8).build(), 'BAD_VALUE_TYPE', /element type 77/);
    expectGgufError(new Raw().header(3, 0, 1).str('k').i32(7).u8(2).build(), 'BAD_VALUE_TYPE', /bool/);
  });

  it('duplicate keys and tensors', () => {
    expectGgufError(new Raw().header(3, 0, 2).str('k').i32(4).u32(1).str('k').i32(4).u32(2).build(), 'DUPLICATE_KEY', /'k'/);
    const r = new Raw().header(3, 2, 0).tensor('w', [8], 0, 0).tensor('w', [8], 0, 32).padTo(32).bytes(64);
    expectGgufError(r.build(), 'DUPLICATE_TENSOR', /'w'/);
  });

  it('offsets past the end of the file', () => {
    expectGgufError(new Raw().header(3, 1, 0).tensor('w', [8], 0, 2n ** 62n).padTo(32).bytes(32).build(), 'BAD_OFFSET', /'w'/);
    expectGgufError(new Raw().header(3, 1, 0).tensor('w', [64], 0, 0).padTo(32).bytes(100).build(), 'BAD_OFFSET', /'w' needs bytes/);
  });

  it('misaligned and overlapping tensors', () => {
    expectGgufError(new Raw().header(3, 1, 0).tensor('w', [8], 0, 4).padTo(32).bytes(64).build(), 'BAD_ALIGNMENT', /'w'.*alignment 32/);
    const overlap = new Raw().header(3, 2, 0).tensor('a', [16], 0, 0).tensor('b', [8], 0, 32).padTo(32).bytes(128);
    expectGgufError(overlap.build(), 'OVERLAPPING_TENSORS', /'a' and 'b'/);
    const badAlign = new Raw().header(3, 0, 1).str('general.alignment').i32(4).u32(48).build();
    expectGgufError(badAlign, 'BAD_ALIGNMENT', /power of two/);
    const wrongType = new Raw().header(3, 0, 1).str('general.alignment').i32(8).str('32').build();
    expectGgufError(wrongType, 'BAD_ALIGNMENT', /must be a u32/);
  });

  it('wrong tensor type ids and shapes that do not fit the type', () => {
    expectGgufError(new Raw().header(3, 1, 0).tensor('w', [8], 99, 0).padTo(32).bytes(64).build(), 'BAD_TENSOR_INFO', /'w' has unknown ggml type id 99/);
    expectGgufError(new Raw().header(3, 1, 0).tensor('w', [100], GgmlType.TQ2_0, 0).padTo(32).bytes(128).build(), 'BAD_TENSOR_INFO', /multiple of the block size 256/);
    expectGgufError(new Raw().header(3, 1, 0).tensor('w', [0], 0, 0).padTo(32).bytes(64).build(), 'BAD_TENSOR_INFO', /dimension 0 = 0/);
  });

  it.each([
    [GgmlType.TL1, 'TL1'],
    [GgmlType.TL2, 'TL2'],
    [GgmlType.IQ2_XXS, 'IQ2_XXS'],
    [GgmlType.Q4_0, 'Q4_0'],
  ])('unsupported type %i names the tensor and the type', (type, name) => {
    const b = new Raw().header(3, 1, 0).tensor('blk.0.attn_q.weight', [256, 4], type, 0).padTo(32).bytes(4096).build();
    expect(() => GgufFile.fromBuffer(b)).toThrow(UnsupportedTensorTypeError);
    expect(() => GgufFile.fromBuffer(b)).toThrow(new RegExp(`'blk.0.attn_q.weight' has type ${name}`));
    // listing tools may still open it
    expect(GgufFile.fromBuffer(b, { allowUnsupportedTypes: true }).tensors[0].name).toBe('blk.0.attn_q.weight');
  });

  it('random corruption never escapes as anything but a typed error', () => {
    const good = validModel();
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(good);
      const flips = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < flips; k++) b[Math.floor(rnd() * 200)] = Math.floor(rnd() * 256);
      try {
        GgufFile.fromBuffer(b);
      } catch (e) {
        if (!(e instanceof GgufFormatError) && !(e instanceof UnsupportedTensorTypeError)) throw e;
      }
    }
  });
});
