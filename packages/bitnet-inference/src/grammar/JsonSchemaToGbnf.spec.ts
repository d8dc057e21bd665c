import Ajv2020 from 'ajv/dist/2020';
import { JsonSchemaError, jsonSchemaToGbnf, type JsonSchemaGbnfOptions } from './JsonSchemaToGbnf';
import { lcg, parseGbnf, recognizes, sampler } from '../testing/gbnfRecognizer';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type S = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const person = {
  type: 'object',
  properties: { name: { type: 'string' }, age: { type: 'integer' }, email: { type: 'string' } },
  required: ['name', 'age'],
  additionalProperties: false,
};
const tree = {
  $defs: {
    node: {
      type: 'object',
      properties: { value: { type: 'integer' }, children: { type: 'array', items: { $ref: '#/$defs/node' }, maxItems: 3 } },
      required: ['value'],
    },
  },
  $ref: '#/$defs/node',
};

/** 34 schemas of varied shape; each is checked both ways against ajv. */
const SCHEMAS: [string, S, JsonSchemaGbnfOptions?][] = [
  ['string', { type: 'string' }],
  ['number', { type: 'number' }],
  ['integer', { type: 'integer' }],
  ['boolean', { type: 'boolean' }],
  ['null', { type: 'null' }],
  ['empty schema (any value)', {}],
  ['true schema inside items', { type: 'array', items: true, maxItems: 4 }],
  ['nullable string', { type: ['string', 'null'] }],
  ['number or integer or boolean', { type: ['integer', 'number', 'boolean'] }],
  ['person', person],
  ['person, compact whitespace', person, { whitespace: 'compact' }],
  ['person, flexible whitespace', person, { whitespace: 'flexible' }],
  ['nested objects', {
    type: 'object',
    properties: {
      user: { type: 'object', properties: { id: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } }, required: ['id', 'tags'] },
      meta: { type: 'object', properties: { created: { type: 'string' }, score: { type: 'number' } } },
    },
    required: ['user'],
  }],
  ['array with bounds', { type: 'array', items: { type: 'integer' }, minItems: 2, maxItems: 5 }],
  ['array exactly 3', { type: 'array', items: { type: 'boolean' }, minItems: 3, maxItems: 3 }],
  ['array at least 1', { type: 'array', items: { type: 'string', maxLength: 3 }, minItems: 1 }],
  ['array maxItems 0', { type: 'array', maxItems: 0 }],
  ['string enum', { type: 'string', enum: ['red', 'green', 'blue', 'with "quote"', 'line\nbreak'] }],
  ['mixed enum', { enum: [1, 'one', null, true, 2.5, [1, 2], { a: 1 }] }],
  ['mixed enum, flexible', { enum: [[1, 2], { a: [true, null] }, 'x'] }, { whitespace: 'flexible' }],
  ['enum filtered by type', { type: 'integer', enum: [1, 'two', 3, 4.5] }],
  ['const object', { const: { kind: 'fixed', n: [1, 2, { deep: null }], s: 'é\u0001😀' } }],
  ['const in properties', { type: 'object', properties: { version: { const: 2 }, kind: { const: 'event' }, data: { type: 'string' } }, required: ['version', 'kind'] }],
  ['anyOf primitives', { anyOf: [{ type: 'string', maxLength: 2 }, { type: 'integer' }, { type: 'null' }] }],
  ['anyOf objects', {
    anyOf: [
      { type: 'object', properties: { type: { const: 'circle' }, r: { type: 'number' } }, required: ['type', 'r'] },
      { type: 'object', properties: { type: { const: 'rect' }, w: { type: 'number' }, h: { type: 'number' } }, required: ['type', 'w', 'h'] },
    ],
  }],
  ['oneOf disjoint', { oneOf: [{ type: 'boolean' }, { type: 'array', items: { type: 'null' }, maxItems: 2 }] }],
  ['$defs/$ref', { $defs: { point: { type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' } }, required: ['x', 'y'] } }, type: 'array', items: { $ref: '#/$defs/point' }, maxItems: 3 }],
  ['definitions/$ref', { definitions: { id: { type: 'integer' } }, type: 'object', properties: { a: { $ref: '#/definitions/id' }, b: { $ref: '#/definitions/id' } }, required: ['b'] }],
  ['recursive tree', tree],
  ['recursive via root #', { type: 'object', properties: { name: { type: 'string', maxLength: 4 }, next: { anyOf: [{ type: 'null' }, { $ref: '#' }] } }, required: ['name', 'next'] }],
  ['all optional properties', { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'string' }, c: { type: 'boolean' } } }],
  ['optional between required', { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' }, c: { type: 'integer' }, d: { type: 'integer' } }, required: ['b', 'd'] }],
  ['string lengths', { type: 'object', properties: { code: { type: 'string', minLength: 2, maxLength: 4 }, note: { type: 'string', minLength: 1 } }, required: ['code', 'note'] }],
  ['additionalProperties: true', { type: 'object', properties: { id: { type: 'integer' }, idx: { type: 'string' } }, required: ['id'], additionalProperties: true }],
  ['additionalProperties schema', { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'integer' } }],
  ['allowAdditionalProperties option', { type: 'object', properties: { k: { type: 'boolean' } } }, { allowAdditionalProperties: true, whitespace: 'compact' }],
  ['nullable nested array of enums', { type: ['array', 'null'], items: { enum: ['a', 'b'] }, minItems: 1, maxItems: 2 }],
  ['no type, properties only', { properties: { a: { type: 'integer' } }, required: ['a'] }],
  ['annotations ignored', { $schema: 'https://json-schema.org/draft/2020-12/schema', $id: 'x', title: 't', description: 'd', examples: [1], default: 1, $comment: 'c', type: 'integer' }],
];

// ---- random values from a schema (the test's own reading of the keywords)

const CHAR_POOL = Array.from('abcXYZ019 _-"\\/\u00e9\u4e2d\u{1F600}\u007f\n\t\u0001~{}[]:,');
const NUMBERS = [0, -0, 1, -1, 42, 3.14, -2.5e-7, 1e21, 9.5e307, -1.2e-300, 5e-324, 0.1 + 0.2, 123456789012345680000, -9007199254740991, 1e-7, 0.000001];

function genValue(s: unknown, root: S, rand: () => number, depth: number, allowExtra: boolean): Json {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  if (s === true || s === undefined) return pick<Json>([1, 'x', null, true, [1, 'a'], { k: [false] }, {}, []]);
  const sc = s as S;
  if (sc.$ref) {
    const path = sc.$ref === '#' ? [] : sc.$ref.slice(2).split('/');
    return genValue(path.reduce((n: S, p: string) => n[p], root), root, rand, depth + 1, allowExtra);
  }
  const deep = depth > 4;
  for (const k of ['anyOf', 'oneOf']) {
    if (sc[k]) {
      const flat = (sc[k] as unknown[]).filter((b) => !JSON.stringify(b).includes('$ref'));
      return genValue(deep && flat.length > 0 ? pick(flat) : pick(sc[k]), root, rand, depth + 1, allowExtra);
    }
  }
  const types: string[] = sc.type === undefined ? ['object', 'array', 'string', 'number', 'integer', 'boolean', 'null'] : [].concat(sc.type);
  if ('const' in sc) return sc.const;
  if (sc.enum) return pick((sc.enum as Json[]).filter((v) => types.some((t) => ajvType(v, t))));
  const t = pick(types);
  switch (t) {
    case 'null': return null;
    case 'boolean': return rand() < 0.5;
    case 'integer': return pick([0, 7, -12, 1e15, -999999999999999, Math.floor(rand() * 2e6) - 1e6]);
    case 'number': return rand() < 0.5 ? pick(NUMBERS) : (rand() - 0.5) * 10 ** Math.floor(rand() * 30 - 15);
    case 'string': {
      const min = sc.minLength ?? 0;
      const max = sc.maxLength ?? min + 8;
      const n = min + Math.floor(rand() * (max - min + 1));
      return Array.from({ length: n }, () => pick(CHAR_POOL)).join('');
    }
    case 'array': {
      const min = sc.minItems ?? 0;
      const max = Math.min(sc.maxItems ?? Infinity, deep ? min : min + 3);
      const n = min + Math.floor(rand() * (max - min + 1));
      return Array.from({ length: n }, () => genValue(sc.items, root, rand, depth + 1, allowExtra));
    }
    default: {
      const out: { [k: string]: Json } = {};
      const req: string[] = sc.required ?? [];
      for (const [k, sub] of Object.entries((sc.properties ?? {}) as S)) {
        if (req.includes(k) || (!deep && rand() < 0.5)) out[k] = genValue(sub, root, rand, depth + 1, allowExtra);
      }
      const ap = 'additionalProperties' in sc ? sc.additionalProperties : allowExtra;
      if (ap !== false && !deep) {
        for (const key of ['', 'zz', 'i', 'idy', 'ID', 'a\nb', 'q"', '\u4e2d'].filter((x) => !(x in out) && !(x in (sc.properties ?? {})))) {
          if (rand() < 0.3) out[key] = genValue(ap === true ? true : ap, root, rand, depth + 1, allowExtra);
        }
      }
      return out;
    }
  }
}

function ajvType(v: unknown, t: string): boolean {
  if (t === 'integer') return Number.isInteger(v);
  if (t === 'array') return Array.isArray(v);
  if (t === 'object') return typeof v === 'object' && v !== null && !Array.isArray(v);
  if (t === 'null') return v === null;
  return typeof v === t;
}

/** JSON with `, ` and `: ` separators (Python's json.dumps default). */
function spaced(v: Json): string {
  if (Array.isArray(v)) return '[' + v.map(spaced).join(', ') + ']';
  if (v !== null && typeof v === 'object') return '{' + Object.entries(v).map(([k, x]) => JSON.stringify(k) + ': ' + spaced(x)).join(', ') + '}';
  return JSON.stringify(v);
}

function serializations(v: Json, ws: JsonSchemaGbnfOptions['whitespace']): string[] {
  if (ws === 'compact') return [JSON.stringify(v), spaced(v)];
  if (ws === 'flexible') return [JSON.stringify(v), spaced(v), JSON.stringify(v, null, 2), JSON.stringify(v, null, '\t')];
  return [JSON.stringify(v)];
}

const VALUES_PER_SCHEMA = 60;
const STRINGS_PER_SCHEMA = 60;

describe('jsonSchemaToGbnf: the grammar accepts exactly the schema language (checked with ajv)', () => {
  const ajv = new Ajv2020({ strict: false, allErrors: false });

  it('covers at least 30 schemas', () => expect(SCHEMAS.length).toBeGreaterThanOrEqual(30));

  it('every schema: valid values are in the grammar, the grammar\'s strings are valid values', () => {
    for (const [name, schema, options] of SCHEMAS) checkLanguage(name, schema, options);
  });

  function checkLanguage(_name: string, schema: (typeof SCHEMAS)[number][1], options: (typeof SCHEMAS)[number][2]): void {
    const gbnf = jsonSchemaToGbnf(schema, options);
    expect(gbnf.startsWith('root ::= ')).toBe(true);
    expect(gbnf.length).toBeLessThan(50_000);
    const g = parseGbnf(gbnf);
    const validate = ajv.compile(schema);
    const rand = lcg(0x5eed ^ gbnf.length);

    // (a) values valid for the schema: their serializations are in the grammar.
    for (let i = 0; i < VALUES_PER_SCHEMA; i++) {
      const v = genValue(schema, schema, rand, 0, options?.allowAdditionalProperties ?? false);
      if (!validate(v)) throw new Error(`test generator produced an invalid value ${JSON.stringify(v)}: ${ajv.errorsText(validate.errors)}`);
      for (const text of serializations(v, options?.whitespace)) {
        if (!recognizes(g, text)) throw new Error(`grammar rejects valid ${JSON.stringify(text)}\n${gbnf}`);
      }
    }
    // (b) random strings of the grammar: they parse and validate.
    const draw = sampler(g, rand);
    for (let i = 0; i < STRINGS_PER_SCHEMA; i++) {
      const text = draw();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new Error(`grammar produced non-JSON ${JSON.stringify(text)}\n${gbnf}`);
      }
      if (!validate(parsed)) throw new Error(`grammar produced ${JSON.stringify(text)}, invalid: ${ajv.errorsText(validate.errors)}\n${gbnf}`);
      if (options?.whitespace !== 'flexible' && options?.whitespace !== 'compact') expect(/\s/.test(text.replace(/"(?:[^"\\]|\\.)*"/g, ''))).toBe(false);
    }
    // The recognizer is not vacuous: near-misses are rejected.
    for (const bad of ['', ' ', JSON.stringify(genValue(schema, schema, rand, 0, false)) + ' ', '{"__nope__":1}'.slice(0, 5)]) {
      if (recognizes(g, bad)) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(bad);
        } catch {
          throw new Error(`grammar accepts non-JSON ${JSON.stringify(bad)}`);
        }
        expect(validate(parsed)).toBe(true);
        expect(bad).toBe(bad.trim());
      }
    }
  }

});

describe('jsonSchemaToGbnf: specific languages', () => {
  const accepts = (schema: unknown, text: string, o?: JsonSchemaGbnfOptions) => recognizes(parseGbnf(jsonSchemaToGbnf(schema, o)), text);

  it('keeps the schema order of properties and omits optional ones', () => {
    expect(accepts(person, '{"name":"a","age":1}')).toBe(true);
    expect(accepts(person, '{"name":"a","age":1,"email":"e"}')).toBe(true);
    expect(accepts(person, '{"age":1,"name":"a"}')).toBe(false);
    expect(accepts(person, '{"name":"a"}')).toBe(false);
    expect(accepts(person, '{"name":"a","age":1,"x":1}')).toBe(false);
    expect(accepts(person, '{"name":"a","age":1,}')).toBe(false);
  });

  it('forbids undeclared properties by default and allows them on request, never a declared name', () => {
    const s = { type: 'object', properties: { id: { type: 'integer' } } };
    expect(accepts(s, '{"id":1,"x":2}')).toBe(false);
    expect(accepts(s, '{"id":1,"x":2}', { allowAdditionalProperties: true })).toBe(true);
    expect(accepts(s, '{"x":2}', { allowAdditionalProperties: true })).toBe(true);
    expect(accepts(s, '{"id":1,"id":"s"}', { allowAdditionalProperties: true })).toBe(false);
    expect(accepts(s, '{"id":1,"i":"s","idd":0,"":1}', { allowAdditionalProperties: true })).toBe(true);
  });

  it('numbers: JSON grammar, no leading zeros, no overflow to Infinity; integers without fraction', () => {
    for (const ok of ['0', '-0', '12', '1.5', '1e5', '1E-5', '1.5e+300', '9.9e307', '123456789012345678901']) expect(accepts({ type: 'number' }, ok)).toBe(true);
    for (const bad of ['01', '.5', '1.', '+1', '1e', '99e307', '1e308', '1e999', 'NaN', '1234567890123456789012']) expect(accepts({ type: 'number' }, bad)).toBe(false);
    expect(accepts({ type: 'integer' }, '-17')).toBe(true);
    expect(accepts({ type: 'integer' }, '1.0')).toBe(false);
  });

  it('strings: escapes and code points; lengths count code points', () => {
    expect(accepts({ type: 'string' }, '"a\\u00e9\\n\\"\\\\\\/"')).toBe(true);
    expect(accepts({ type: 'string' }, '"a\nb"')).toBe(false);
    expect(accepts({ type: 'string' }, '"\\x41"')).toBe(false);
    const two = { type: 'string', minLength: 2, maxLength: 2 };
    expect(accepts(two, '"😀é"')).toBe(true);
    expect(accepts(two, '"😀"')).toBe(false);
    expect(accepts(two, '"\\ud83d\\ude00"')).toBe(false);
  });

  it('whitespace policies', () => {
    const s = { type: 'array', items: person };
    const v = [{ name: 'a', age: 1 }];
    expect(accepts(s, JSON.stringify(v, null, 2))).toBe(false);
    expect(accepts(s, spaced(v), { whitespace: 'compact' })).toBe(true);
    expect(accepts(s, JSON.stringify(v, null, 2), { whitespace: 'compact' })).toBe(false);
    expect(accepts(s, JSON.stringify(v, null, 2), { whitespace: 'flexible' })).toBe(true);
    expect(accepts(s, ' ' + JSON.stringify(v), { whitespace: 'flexible' })).toBe(false);
    expect(accepts(s, '[  ]', { whitespace: 'flexible' })).toBe(false);
  });
});

describe('jsonSchemaToGbnf: typed errors', () => {
  const err = (schema: unknown, o?: JsonSchemaGbnfOptions): JsonSchemaError => {
    try {
      jsonSchemaToGbnf(schema, o);
    } catch (e) {
      expect(e).toBeInstanceOf(JsonSchemaError);
      return e as JsonSchemaError;
    }
    throw new Error(`no error for ${JSON.stringify(schema)}`);
  };

  it.each([
    ['pattern', { type: 'string', pattern: '^a' }, '/pattern'],
    ['format', { type: 'string', format: 'date' }, '/format'],
    ['allOf', { allOf: [{ type: 'string' }] }, '/allOf'],
    ['not', { not: { type: 'string' } }, '/not'],
    ['if', { if: { type: 'string' }, then: {} }, '/if'],
    ['patternProperties', { type: 'object', patternProperties: { a: {} } }, '/patternProperties'],
    ['dependentRequired', { type: 'object', dependentRequired: { a: ['b'] } }, '/dependentRequired'],
    ['minimum', { type: 'object', properties: { n: { type: 'number', minimum: 0 } } }, '/properties/n/minimum'],
    ['maximum', { type: 'number', maximum: 3 }, '/maximum'],
    ['multipleOf', { type: 'number', multipleOf: 3 }, '/multipleOf'],
    ['uniqueItems', { type: 'array', uniqueItems: true }, '/uniqueItems'],
    ['prefixItems', { type: 'array', prefixItems: [{}] }, '/prefixItems'],
    ['contains', { type: 'array', contains: {} }, '/contains'],
    ['minProperties', { type: 'object', minProperties: 1 }, '/minProperties'],
    ['propertyNames', { type: 'object', propertyNames: { maxLength: 3 } }, '/propertyNames'],
    ['unevaluatedProperties', { type: 'object', unevaluatedProperties: false }, '/unevaluatedProperties'],
    ['format', { $defs: { d: { type: 'string', format: 'email' } }, $ref: '#/$defs/d' }, '/$defs/d/format'],
    ['format', { type: 'array', items: { anyOf: [{ type: 'null' }, { type: 'string', format: 'uri' }] } }, '/items/anyOf/1/format'],
  ])('rejects %s with its path', (keyword, schema, path) => {
    const e = err(schema);
    expect(e.keyword).toBe(keyword);
    expect(e.path).toBe(path);
    expect(e.reason).toBe('unsupported');
    expect(e.message).toContain(keyword);
    expect(e.type).toBe('invalid_config');
  });

  it.each([
    ['not an object', 'string', 'invalid'],
    ['null', null, 'invalid'],
    ['array', [], 'invalid'],
    ['bad $ref', { $ref: '#/$defs/missing' }, 'invalid'],
    ['remote $ref', { $ref: 'https://example.com/s.json' }, 'unsupported'],
    ['minItems > maxItems', { type: 'array', minItems: 3, maxItems: 2 }, 'unsatisfiable'],
    ['minLength > maxLength', { type: 'string', minLength: 3, maxLength: 2 }, 'unsatisfiable'],
    ['empty enum', { enum: [] }, 'unsatisfiable'],
    ['enum with no value of the type', { type: 'string', enum: [1, 2] }, 'unsatisfiable'],
    ['false schema', false, 'unsatisfiable'],
    ['empty type list', { type: [] }, 'unsatisfiable'],
    ['unknown type', { type: 'date' }, 'invalid'],
    ['negative minItems', { type: 'array', minItems: -1 }, 'invalid'],
    ['absurd maxItems', { type: 'array', maxItems: 1e9 }, 'limit'],
    ['absurd minLength', { type: 'string', minLength: 100000 }, 'limit'],
    ['required recursion never ends', { type: 'object', properties: { next: { $ref: '#' } }, required: ['next'] }, 'unsatisfiable'],
    ['self reference', { $defs: { a: { $ref: '#/$defs/a' } }, $ref: '#/$defs/a' }, 'unsatisfiable'],
    ['left-recursive anyOf', { $defs: { a: { anyOf: [{ $ref: '#/$defs/a' }, { type: 'null' }] } }, $ref: '#/$defs/a' }, 'unsupported'],
    ['required but undeclared', { type: 'object', required: ['x'] }, 'unsupported'],
    ['empty anyOf', { anyOf: [] }, 'invalid'],
    ['anyOf with a sibling keyword', { type: 'string', anyOf: [{ maxLength: 2 }] }, 'unsupported'],
    ['infinite const', { const: Infinity }, 'unsatisfiable'],
    ['bad whitespace option', {}, 'invalid'],
  ])('%s', (_name, schema, reason) => {
    const e = _name === 'bad whitespace option' ? err(schema, { whitespace: 'tabs' as 'none' }) : err(schema);
    expect(e.reason).toBe(reason);
  });

  it('fails fast on a deep chain of references', () => {
    const defs: Record<string, unknown> = {};
    for (let i = 0; i < 3000; i++) defs[`d${i}`] = { type: 'array', items: { $ref: `#/$defs/d${i + 1}` }, maxItems: 1 };
    defs.d3000 = { type: 'integer' };
    expect(err({ $defs: defs, $ref: '#/$defs/d0' }).reason).toBe('limit');
    defs.d100 = { type: 'integer' };
    expect(jsonSchemaToGbnf({ $defs: defs, $ref: '#/$defs/d0' }).length).toBeLessThan(50_000);
  });
});

describe('jsonSchemaToGbnf: grammar size', () => {
  it('20 optional properties stay linear', () => {
    const properties: Record<string, unknown> = {};
    for (let i = 0; i < 20; i++) properties[`p${i}`] = { type: 'integer' };
    const gbnf = jsonSchemaToGbnf({ type: 'object', properties });
    expect(gbnf.length).toBeLessThan(8_000);
    const g = parseGbnf(gbnf);
    expect(recognizes(g, '{}')).toBe(true);
    expect(recognizes(g, '{"p3":1,"p19":2}')).toBe(true);
    expect(recognizes(g, '{"p19":2,"p3":1}')).toBe(false);
    const all = Object.fromEntries(Object.keys(properties).map((k, i) => [k, i]));
    expect(recognizes(g, JSON.stringify(all))).toBe(true);
    // Doubling the properties roughly doubles the grammar.
    const properties40: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) properties40[`p${i}`] = { type: 'integer' };
    expect(jsonSchemaToGbnf({ type: 'object', properties: properties40 }).length).toBeLessThan(gbnf.length * 2.5);
  });

  it('identical subschemas share one rule', () => {
    const item = { type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' } }, required: ['x', 'y'] };
    const gbnf = jsonSchemaToGbnf({ type: 'object', properties: { a: item, b: item, c: item }, required: ['a', 'b', 'c'] });
    expect(gbnf.split('\\"x\\":').length - 1).toBe(1);
  });
});
