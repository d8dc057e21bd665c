/**
 * GgufReadOptions.skipArrays and the packed string arrays: a skipped array is checked exactly like a
 * kept one (a malformed file gives the same error, code and message) and is never mistaken for an
 * empty array; a packed string array reads back exactly as the plain array the reader used to build.
 */
import { BitnetModelError, GgufFormatError, MetadataError } from '../errors';
import { GgmlType } from '../tensor/GgmlType';
import { RawGguf } from '../testing/RawGguf';
import { GgufFile } from './GgufFile';
import { gguf, plainValue } from './GgufMetadata';
import { GgufSkippedArray, GgufStringArray } from './GgufStringArray';
import { GgufValueType } from './GgufTypes';
import { GgufWriter } from './GgufWriter';

const SKIP_ALL = { skipArrays: () => true };

/** What opening `bytes` gives: the error's class, code and message, or 'ok'. */
function outcome(bytes: Uint8Array, options = {}): string {
  try {
    GgufFile.fromBuffer(bytes, options);
    return 'ok';
  } catch (e) {
    if (!(e instanceof BitnetModelError)) throw e;
    return `${e.constructor.name} ${e.code} ${e.message}`;
  }
}

function modelWithArrays(): Buffer {
  const w = new GgufWriter();
  w.set('general.architecture', gguf.str('bitnet'));
  w.set('tokenizer.ggml.tokens', gguf.strings(['a', 'b', 'é', '', '<|x|>']));
  w.set('tokenizer.ggml.merges', gguf.strings(['a b', 'ab é']));
  w.set('tokenizer.ggml.token_type', gguf.i32s([1, 1, 1, 3, 4]));
  w.set('flags', { type: GgufValueType.ARRAY, elementType: GgufValueType.BOOL, value: [true, false] });
  w.set('nested', { type: GgufValueType.ARRAY, elementType: GgufValueType.ARRAY, value: [{ type: GgufValueType.ARRAY, elementType: GgufValueType.STRING, value: ['x', 'yz'] }] });
  w.set('big', gguf.u64(2n ** 40n));
  w.addTensor('t0', [256, 2], GgmlType.TQ2_0, new Uint8Array(132).fill(0x55));
  w.addTensor('t1', [8], GgmlType.F32, new Uint8Array(32));
  return w.toBuffer();
}

describe('skipArrays', () => {
  it('keeps the length and element type, and never reads as an empty array', () => {
    const f = GgufFile.fromBuffer(modelWithArrays(), { skipArrays: (k) => k.startsWith('tokenizer.ggml.') });
    const md = f.metadata;
    expect(md.skippedKeys()).toEqual(['tokenizer.ggml.tokens', 'tokenizer.ggml.merges', 'tokenizer.ggml.token_type']);
    expect(md.has('tokenizer.ggml.tokens')).toBe(true);
    expect(md.skippedArray('tokenizer.ggml.tokens')).toEqual(new GgufSkippedArray(GgufValueType.STRING, 5));
    expect(md.skippedArray('tokenizer.ggml.token_type')).toMatchObject({ elementType: GgufValueType.INT32, length: 5 });
    expect(md.optStringArrayLength('tokenizer.ggml.tokens')).toBe(5);
    expect(() => md.optStringArrayLength('tokenizer.ggml.token_type')).toThrow(/must be an array of strings, but it is array of INT32/);
    for (const read of [
      () => md.raw('tokenizer.ggml.tokens'),
      () => md.optStringArray('tokenizer.ggml.tokens'),
      () => md.optStringList('tokenizer.ggml.merges'),
      () => md.optNumberArray('tokenizer.ggml.token_type'),
      () => md.toJSON(),
      () => [...md.entries()],
    ]) {
      expect(read).toThrow(MetadataError);
      expect(read).toThrow(/was skipped when the file was read/);
    }
    // the other keys and the tensors are as without skipping
    const full = GgufFile.fromBuffer(modelWithArrays());
    expect(f.tensors).toEqual(full.tensors);
    expect(f.dataOffset).toBe(full.dataOffset);
    expect(plainValue(md.raw('nested')!)).toEqual([['x', 'yz']]);
    expect(md.raw('flags')).toEqual(full.metadata.raw('flags'));
    expect(md.getNumber('big')).toBe(2 ** 40);
  });

  it('never skips values that are not arrays', () => {
    const f = GgufFile.fromBuffer(modelWithArrays(), SKIP_ALL);
    expect(f.metadata.optString('general.architecture')).toBe('bitnet');
    expect(f.metadata.skippedKeys()).toEqual(['tokenizer.ggml.tokens', 'tokenizer.ggml.merges', 'tokenizer.ggml.token_type', 'flags', 'nested']);
  });

  it.each<[string, () => RawGguf]>([
    ['a length past the file', () => new RawGguf().header(3, 0, 1).str('arr').i32(9).i32(10).u64(100_000_000).bytes(64)],
    ['2^62 nested arrays', () => new RawGguf().header(3, 0, 1).str('n').i32(9).i32(9).u64(2n ** 62n).bytes(64)],
    ['an unknown element type', () => new RawGguf().header(3, 0, 1).str('k').i32(9).i32(77).u64(1).bytes(8)],
    ['a string longer than the file', () => new RawGguf().header(3, 0, 1).str('k').i32(9).i32(8).u64(2).str('ok').u64(2n ** 40n).bytes(16)],
    ['a string running past the end', () => new RawGguf().header(3, 0, 1).str('k').i32(9).i32(8).u64(2).str('ok').u64(9).bytes(8)],
    ['a bool byte of 2', () => new RawGguf().header(3, 0, 1).str('k').i32(9).i32(7).u64(2).u8(1).u8(2)],
    ['a nested bool byte of 3', () => new RawGguf().header(3, 0, 1).str('k').i32(9).i32(9).u64(1).i32(7).u64(1).u8(3)],
    ['a nested string past the end', () => new RawGguf().header(3, 0, 1).str('k').i32(9).i32(9).u64(1).i32(8).u64(1).u64(100).bytes(8)],
    ['arrays nested 9 deep', () => {
      const r = new RawGguf().header(3, 0, 1).str('deep').i32(9);
      for (let d = 0; d < 9; d++) r.i32(9).u64(1);
      return r.bytes(32);
    }],
    ['general.alignment as an array', () => new RawGguf().header(3, 0, 1).str('general.alignment').i32(9).i32(4).u64(1).u32(32)],
    ['a truncated element', () => new RawGguf().header(3, 0, 1).str('k').i32(9).i32(6).u64(2).u32(0).u8(0)],
  ])('a malformed array (%s) fails the same way when skipped', (_name, build) => {
    const b = build().build();
    const kept = outcome(b);
    expect(kept).toMatch(/^GgufFormatError /);
    expect(outcome(b, SKIP_ALL)).toBe(kept);
  });

  it('truncation at every byte and random corruption fail the same way when skipped', () => {
    const good = modelWithArrays();
    for (let n = 0; n < good.length; n++) {
      const b = good.subarray(0, n);
      expect(`${n}: ${outcome(b, SKIP_ALL)}`).toBe(`${n}: ${outcome(b)}`);
    }
    let seed = 777;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(good);
      for (let k = 1 + Math.floor(rnd() * 4); k > 0; k--) b[Math.floor(rnd() * 400)] = Math.floor(rnd() * 256);
      expect(`${i}: ${outcome(b, SKIP_ALL)}`).toBe(`${i}: ${outcome(b)}`);
    }
  });
});

describe('packed string arrays', () => {
  it('read back exactly as the written strings, through every accessor', () => {
    const strings = ['a', '', 'é', '日本語', '😀 x', 'Ġhello', ' ', 'a'.repeat(5000)];
    const w = new GgufWriter();
    w.set('list', gguf.strings(strings));
    const md = GgufFile.fromBuffer(w.toBuffer()).metadata;
    const list = md.optStringList('list')!;
    expect(list).toBeInstanceOf(GgufStringArray);
    expect(Array.from({ length: list.length }, (_, i) => list.get(i))).toEqual(strings);
    expect(md.getStringArray('list')).toEqual(strings);
    expect(md.raw('list')).toEqual({ type: GgufValueType.ARRAY, elementType: GgufValueType.STRING, value: strings });
    expect([...md.entries()]).toEqual([['list', { type: GgufValueType.ARRAY, elementType: GgufValueType.STRING, value: strings }]]);
    expect(md.toJSON()).toEqual({ list: strings });
    expect(md.optStringArrayLength('list')).toBe(strings.length);
    expect(() => md.optNumberArray('list')).toThrow(/must be an array of numbers, but it is array of STRING/);
    expect(() => md.optString('list')).toThrow(/must be a string, but it is array of STRING/);
    // a plain array set by hand is listed as is
    md.set('plain', gguf.strings(['x', '\ud800']));
    expect(md.optStringList('plain')!.get(1)).toBe('\ud800');
  });

  it('decode invalid UTF-8 as a plain read did (U+FFFD), and survive a write/read round trip', () => {
    const bad = Buffer.from([0x61, 0xff, 0xc3, 0x28, 0xe2, 0x82]);
    const b = new RawGguf().header(3, 0, 1).str('k').i32(9).i32(8).u64(2).u64(bad.length).raw(bad).str('ok').build();
    const md = GgufFile.fromBuffer(b).metadata;
    expect(md.getStringArray('k')).toEqual([bad.toString('utf8'), 'ok']);
    const w = new GgufWriter();
    for (const [k, v] of md.entries()) w.set(k, v);
    expect(GgufFile.fromBuffer(w.toBuffer()).metadata.getStringArray('k')).toEqual([bad.toString('utf8'), 'ok']);
  });

  it('fail on malformed input like before', () => {
    expect(outcome(new RawGguf().header(3, 0, 1).str('k').i32(9).i32(8).u64(3).str('a').str('b').u64(5).bytes(4).build())).toMatch(/^GgufFormatError BAD_STRING .*'k'/);
    expect(() => GgufFile.fromBuffer(new RawGguf().header(3, 0, 1).str('k').i32(9).i32(8).u64(1).u64(3).bytes(2).build())).toThrow(GgufFormatError);
  });
});
