/**
 * Integer ranges (`type: 'integer'` with minimum / maximum / exclusive*): the grammar jsonSchemaToGbnf
 * writes accepts, in the GrammarMatcher, exactly the canonical decimal text of the integers in range.
 */
import { parseGbnf } from './Gbnf';
import { GrammarMatcher } from './GrammarMatcher';
import { JsonSchemaError, jsonSchemaToGbnf } from './JsonSchemaToGbnf';

function recognizer(schema: unknown): (text: string) => boolean {
  const grammar = parseGbnf(jsonSchemaToGbnf(schema));
  return (text) => {
    const m = new GrammarMatcher(grammar);
    for (const b of Buffer.from(text, 'utf8')) if (!m.accept(b)) return false;
    return m.canEnd;
  };
}

describe('integer ranges', () => {
  it.each([
    [0, 0], [0, 9], [1, 10], [-5, 5], [-1, -1], [7, 1234], [-1234, -7], [-99, 100], [19, 91], [100, 999], [101, 998], [-1000, 1000], [305, 1207],
  ])('[%i, %i]: every integer from -1500 to 1500 is accepted iff in range', (lo, hi) => {
    const accepts = recognizer({ type: 'integer', minimum: lo, maximum: hi });
    const wrong: number[] = [];
    for (let v = -1500; v <= 1500; v++) if (accepts(String(v)) !== (v >= lo && v <= hi)) wrong.push(v);
    expect(wrong).toEqual([]);
  });

  it('only canonical text: no leading zeros, no -0, no fraction', () => {
    const accepts = recognizer({ type: 'integer', minimum: -10, maximum: 10 });
    for (const t of ['-0', '00', '05', '-05', '1.0', '1e1', '+1', '']) expect({ t, ok: accepts(t) }).toEqual({ t, ok: false });
    expect(accepts('0')).toBe(true);
  });

  it('one-sided and exclusive bounds, non-integer bounds rounded inwards', () => {
    const min = recognizer({ type: 'integer', minimum: 5 });
    expect([4, 5, 6, 10, 123456789].map((v) => min(String(v)))).toEqual([false, true, true, true, true]);
    expect(min('-7')).toBe(false);
    const max = recognizer({ type: 'integer', exclusiveMaximum: 0 });
    expect([-123456, -1, 0, 1].map((v) => max(String(v)))).toEqual([true, true, false, false]);
    const frac = recognizer({ type: 'integer', exclusiveMinimum: 1.5, maximum: 3.9 });
    expect([1, 2, 3, 4].map((v) => frac(String(v)))).toEqual([false, true, true, false]);
  });

  it("zod's int bounds (±(2^53 - 1), what zodResponseFormat writes for z.number().int())", () => {
    const accepts = recognizer({ type: 'integer', minimum: -9007199254740991, maximum: 9007199254740991 });
    expect(accepts('9007199254740991')).toBe(true);
    expect(accepts('-9007199254740991')).toBe(true);
    expect(accepts('9007199254740992')).toBe(false);
    expect(accepts('-9007199254740992')).toBe(false);
    expect(accepts('42')).toBe(true);
  });

  it('refuses an empty range, a bound that is not a number, and bounds on number', () => {
    const err = (schema: unknown) => {
      try {
        jsonSchemaToGbnf(schema);
      } catch (e) {
        return e as JsonSchemaError;
      }
      throw new Error('no error');
    };
    expect(err({ type: 'integer', minimum: 3, maximum: 2 })).toMatchObject({ keyword: 'minimum', reason: 'unsatisfiable' });
    expect(err({ type: 'integer', exclusiveMinimum: 2, exclusiveMaximum: 3 })).toMatchObject({ reason: 'unsatisfiable' });
    expect(err({ type: 'integer', maximum: '3' })).toMatchObject({ keyword: 'maximum', reason: 'invalid', path: '/maximum' });
    expect(err({ type: 'number', minimum: 0 })).toMatchObject({ keyword: 'minimum', reason: 'unsupported', path: '/minimum' });
    expect(err({ minimum: 0 })).toMatchObject({ keyword: 'minimum', reason: 'unsupported' });
  });
});
