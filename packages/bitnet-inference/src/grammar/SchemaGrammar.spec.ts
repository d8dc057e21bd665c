/**
 * The two halves of constrained decoding together: a grammar written by jsonSchemaToGbnf is parsed by
 * parseGbnf and run by GrammarMatcher, which accepts the schema's values byte by byte (multi-byte
 * characters included) and refuses what the schema forbids.
 */
import { parseGbnf } from './Gbnf';
import { GrammarMatcher } from './GrammarMatcher';
import { jsonSchemaToGbnf } from './JsonSchemaToGbnf';

function accepts(schema: unknown, text: string): boolean {
  const m = new GrammarMatcher(parseGbnf(jsonSchemaToGbnf(schema)));
  for (const b of Buffer.from(text, 'utf8')) if (!m.accept(b)) return false;
  return m.canEnd;
}

const PERSON = {
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'integer' }, tags: { type: 'array', items: { enum: ['a', 'b'] }, maxItems: 3 } },
  required: ['name'],
  additionalProperties: false,
};
const TREE = {
  $defs: { node: { type: 'object', properties: { v: { type: 'integer' }, kids: { type: 'array', items: { $ref: '#/$defs/node' } } }, required: ['v', 'kids'] } },
  $ref: '#/$defs/node',
};

describe('jsonSchemaToGbnf grammars in the GrammarMatcher', () => {
  it('accepts the values of objects, unions and recursive definitions', () => {
    expect(accepts(PERSON, JSON.stringify({ name: 'é日本', age: 3, tags: ['a', 'b'] }))).toBe(true);
    expect(accepts(PERSON, JSON.stringify({ name: 'x' }))).toBe(true);
    expect(accepts({ anyOf: [{ type: 'null' }, { type: 'number' }] }, 'null')).toBe(true);
    expect(accepts({ anyOf: [{ type: 'null' }, { type: 'number' }] }, JSON.stringify(-12.5))).toBe(true);
    expect(accepts({ anyOf: [{ type: 'null' }, { type: 'number' }] }, JSON.stringify(1e21))).toBe(true); // numbers as JSON.stringify writes them
    expect(accepts(TREE, JSON.stringify({ v: 1, kids: [{ v: 2, kids: [] }, { v: 3, kids: [{ v: 4, kids: [] }] }] }))).toBe(true);
  });

  it('refuses what the schema forbids', () => {
    expect(accepts(PERSON, JSON.stringify({ age: 3 }))).toBe(false); // name is required
    expect(accepts(PERSON, JSON.stringify({ name: 'x', extra: 1 }))).toBe(false); // additionalProperties: false
    expect(accepts(PERSON, JSON.stringify({ name: 'x', tags: ['a', 'b', 'a', 'b'] }))).toBe(false); // maxItems 3
    expect(accepts(PERSON, JSON.stringify({ name: 'x', tags: ['c'] }))).toBe(false); // enum
    expect(accepts({ anyOf: [{ type: 'null' }, { type: 'number' }] }, '"1"')).toBe(false);
    expect(accepts(TREE, JSON.stringify({ v: 1.5, kids: [] }))).toBe(false); // integer
  });
});
