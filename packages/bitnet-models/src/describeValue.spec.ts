import { describeValue, MAX_DESCRIBED_CHARS } from './describeValue';

describe('describeValue', () => {
  it('renders small plain values as JSON, so a string is told from a number', () => {
    expect(describeValue(3)).toBe('3');
    expect(describeValue('3')).toBe('"3"');
    expect(describeValue(NaN)).toBe('NaN');
    expect(describeValue(-Infinity)).toBe('-Infinity');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue(null)).toBe('null');
    expect(describeValue(true)).toBe('true');
    expect(describeValue([1, 2])).toBe('[1,2]');
    expect(describeValue({ a: 1 })).toBe('{"a":1}');
    expect(describeValue(12n)).toBe('12n');
  });

  it('gives a typed array, a long array or a large object as a kind and a size, never its items', () => {
    expect(describeValue(new Float32Array(2560).fill(1))).toBe('a Float32Array of 2560 elements');
    expect(describeValue(new Uint8Array(0))).toBe('a Uint8Array of 0 elements');
    expect(describeValue(new DataView(new ArrayBuffer(9)))).toBe('a DataView of 9 bytes');
    expect(describeValue(new ArrayBuffer(7))).toBe('an ArrayBuffer of 7 bytes');
    expect(describeValue(Array.from({ length: 1000 }, (_, i) => i))).toBe('an array of 1000 items');
    expect(describeValue(new Map([[1, 2]]))).toBe('{}');
    expect(describeValue(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i])))).toBe('an object');
    class Session {
      readonly id = 'x'.repeat(200);
    }
    expect(describeValue(new Session())).toBe('a Session');
  });

  it('survives what JSON cannot render and keeps every result short', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const throwing = { toJSON: () => { throw new Error('no'); } };
    const values: unknown[] = [cyclic, throwing, Symbol('s'), () => 1, { big: 1n }, 'y'.repeat(1e6), 10n ** 200n, new Float64Array(1e6)];
    const out = values.map(describeValue);
    expect(out.slice(0, 5)).toEqual(['an object', 'an object', 'a symbol', 'a function', 'an object']);
    expect(out[5]).toBe(`a string of 1000000 characters, "${'y'.repeat(24)}"…`);
    for (const s of out) expect(s.length).toBeLessThanOrEqual(MAX_DESCRIBED_CHARS + 20);
  });
});
