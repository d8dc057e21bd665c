/**
 * GenerateOptions.jsonSchema end to end on the bundled KJV model (it knows no JSON: whatever it
 * writes comes from the mask): 30 schemas of varied shape × 5 seeds, sampled at temperature 1 with
 * no top-k / top-p / min-p truncation, so the sampler wanders over everything the grammar allows.
 * Every output must parse with JSON.parse, validate against its schema with ajv (an independent JSON
 * Schema validator), hold no whitespace outside strings (the converter's policy 'none') and end with
 * 'grammar_complete' — or with 'eos' where the value may end but could go on (a number at the root,
 * where the model chose the end-of-generation token). Strings carry maxLength and
 * arrays maxItems so that a value always completes well within maxNewTokens. The generations of
 * several schemas run concurrently (one engine; continuous batching).
 */
import Ajv from 'ajv';
import { InferenceEngine } from '../engine/InferenceEngine';
import type { GenerationResult } from '../engine/Generation';
import { GrammarMatcher } from './GrammarMatcher';
import { jsonSchemaToGbnf } from './JsonSchemaToGbnf';

const SEEDS = [1, 2, 3, 4, 5];
const PROMPT = 'And he said, ';
/** Filled in beforeAll: maxNewTokens is all the context the prompt leaves (the bundled model has 256). */
const CONFIG = { temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, maxNewTokens: 0 };

type Schema = Record<string, unknown>;
const str = (maxLength: number, minLength = 0): Schema => ({ type: 'string', minLength, maxLength });

/** [name, schema]: 30 shapes. */
const SCHEMAS: Array<[string, Schema]> = [
  ['bounded string', str(12)],
  ['fixed-length string', str(3, 3)],
  ['integer', { type: 'integer' }],
  ['number', { type: 'number' }],
  ['boolean', { type: 'boolean' }],
  ['null', { type: 'null' }],
  ['string enum', { enum: ['red', 'green', 'blue'] }],
  ['mixed enum', { enum: [1, 'two', null, true, { three: 3 }, [4, 'four']] }],
  ['integer enum', { enum: [0, 1, 2, 3, 10, 100, -7] }],
  ['const object', { const: { a: 1, b: [true, null], c: 'é' } }],
  ['type list', { type: ['string', 'integer', 'null'], maxLength: 5 }],
  ['flat object, all required', { type: 'object', properties: { name: str(10), age: { type: 'integer' } }, required: ['name', 'age'], additionalProperties: false }],
  ['object, some optional', { type: 'object', properties: { a: { type: 'boolean' }, b: { type: 'null' }, c: str(5), d: { type: 'number' } }, required: ['b'] }],
  ['object, none required', { type: 'object', properties: { x: { type: 'integer' }, y: { type: 'integer' }, z: { type: 'boolean' } } }],
  ['empty object', { type: 'object', properties: {}, additionalProperties: false }],
  ['object with const and enum members', { type: 'object', properties: { version: { const: 2 }, level: { enum: ['low', 'mid', 'high'] }, score: { type: 'number' } }, required: ['version', 'level', 'score'], additionalProperties: false }],
  ['non-ASCII keys', { type: 'object', properties: { 'naïve key': str(3), ключ: { enum: ['é', '日本'] }, 'quote"d': { type: 'boolean' } }, required: ['naïve key', 'ключ', 'quote"d'] }],
  ['deep nesting', { type: 'object', properties: { a: { type: 'object', properties: { b: { type: 'object', properties: { c: { type: 'object', properties: { d: { type: 'boolean' } }, required: ['d'] } }, required: ['c'] } }, required: ['b'] } }, required: ['a'] }],
  ['nested object with array', { type: 'object', properties: { user: { type: 'object', properties: { id: { type: 'integer' }, tags: { type: 'array', items: str(4), maxItems: 3 } }, required: ['id', 'tags'] }, active: { type: 'boolean' } }, required: ['user', 'active'] }],
  ['integer array 2..4', { type: 'array', items: { type: 'integer' }, minItems: 2, maxItems: 4 }],
  ['string array ≤3', { type: 'array', items: str(6), maxItems: 3 }],
  ['enum array 1..5', { type: 'array', items: { enum: ['a', 'b', 'c'] }, minItems: 1, maxItems: 5 }],
  ['nested arrays', { type: 'array', items: { type: 'array', items: { type: 'integer' }, maxItems: 3 }, minItems: 1, maxItems: 3 }],
  ['array of objects', { type: 'array', items: { type: 'object', properties: { k: str(3), v: { type: ['integer', 'null'] } }, required: ['k', 'v'] }, minItems: 1, maxItems: 3 }],
  ['anyOf primitives', { anyOf: [{ type: 'integer' }, str(8), { type: 'null' }] }],
  ['anyOf tagged objects', { anyOf: [
    { type: 'object', properties: { kind: { const: 'circle' }, r: { type: 'number' } }, required: ['kind', 'r'], additionalProperties: false },
    { type: 'object', properties: { kind: { const: 'square' }, side: { type: 'integer' } }, required: ['kind', 'side'], additionalProperties: false },
  ] }],
  ['oneOf disjoint', { oneOf: [{ type: 'boolean' }, { type: 'array', items: { type: 'boolean' }, minItems: 1, maxItems: 2 }] }],
  ['$defs/$ref reused', { $defs: { point: { type: 'object', properties: { x: { type: 'integer' }, y: { type: 'integer' } }, required: ['x', 'y'] } }, type: 'object', properties: { from: { $ref: '#/$defs/point' }, to: { $ref: '#/$defs/point' } }, required: ['from', 'to'] }],
  ['definitions + anyOf of $refs', { definitions: { s: str(4), n: { type: 'integer' } }, type: 'array', items: { anyOf: [{ $ref: '#/definitions/s' }, { $ref: '#/definitions/n' }] }, maxItems: 4 }],
  ['recursive list (maxItems 1)', { $defs: { node: { type: 'object', properties: { v: { type: 'integer' }, next: { type: 'array', items: { $ref: '#/$defs/node' }, maxItems: 1 } }, required: ['v', 'next'] } }, $ref: '#/$defs/node' }],
  ['mutual recursion, optional', { $defs: { a: { type: 'object', properties: { tag: { const: 'a' }, b: { $ref: '#/$defs/b' } }, required: ['tag'] }, b: { type: 'array', items: { $ref: '#/$defs/a' }, maxItems: 1 } }, $ref: '#/$defs/a' }],
];

let engine: InferenceEngine;
const ajv = new Ajv({ strict: false });

beforeAll(async () => {
  engine = await InferenceEngine.load();
  CONFIG.maxNewTokens = engine.model.contextLength - engine.promptIds(PROMPT).length;
  expect(CONFIG.maxNewTokens).toBeGreaterThanOrEqual(200);
}, 60_000);
afterAll(async () => {
  await engine?.close();
});

/** Runs every seed of these schemas at once; returns the results per schema. */
async function runGroup(group: Array<[string, Schema]>): Promise<GenerationResult[][]> {
  return Promise.all(group.map(([, schema]) => Promise.all(SEEDS.map((seed) => engine.generate(PROMPT, { ...CONFIG, seed }, { jsonSchema: schema })))));
}

describe('JSON-schema constrained generation on the bundled model', () => {
  it('has 30 distinct schemas, each accepted by ajv', () => {
    expect(SCHEMAS.length).toBeGreaterThanOrEqual(30);
    expect(new Set(SCHEMAS.map(([n]) => n)).size).toBe(SCHEMAS.length);
    for (const [, schema] of SCHEMAS) expect(() => ajv.compile(schema)).not.toThrow();
  });

  it('× 5 seeds at temperature 1: every output parses, validates and ends where its grammar says', async () => {
    const failures: string[] = [];
    const seen = new Map<string, Set<string>>();
    const GROUP = 6; // 30 sequences in flight
    for (let g = 0; g < SCHEMAS.length; g += GROUP) {
      const group = SCHEMAS.slice(g, g + GROUP);
      const results = await runGroup(group);
      group.forEach(([name, schema], i) => {
        const validate = ajv.compile(schema);
        const texts = new Set<string>();
        const grammar = jsonSchemaToGbnf(schema);
        results[i].forEach((r, k) => {
          const where = `${name} seed ${SEEDS[k]}: ${JSON.stringify(r.text)} (${r.finishReason}, ${r.tokenIds.length} tokens)`;
          texts.add(r.text);
          // 'eos' is right only where the value may end but could also go on (a number at the root):
          // the model chose the end-of-generation token, the last id, which adds no text
          const ends = engine.model.special.endOfGeneration;
          const ids = r.finishReason === 'eos' ? r.tokenIds.slice(0, -1) : r.tokenIds;
          if (r.finishReason === 'eos' && !ends.includes(r.tokenIds[r.tokenIds.length - 1])) return void failures.push(`${where}: 'eos' without an end-of-generation id`);
          if (r.finishReason !== 'grammar_complete' && r.finishReason !== 'eos') return void failures.push(`${where}: finishReason`);
          if (ids.some((id) => ends.includes(id))) return void failures.push(`${where}: an end-of-generation token inside the output`);
          if (r.text !== r.pieces.map((p) => p.text).join('') || r.text !== engine.tokenizer.decode(ids)) return void failures.push(`${where}: pieces/ids do not add up to the text`);
          let value: unknown;
          try {
            value = JSON.parse(r.text);
          } catch {
            return void failures.push(`${where}: JSON.parse failed`);
          }
          if (!validate(value)) return void failures.push(`${where}: ${ajv.errorsText(validate.errors)}`);
          // whitespace policy 'none': no whitespace outside strings
          if (/\s/.test(r.text.replace(/"(?:[^"\\]|\\.)*"/g, '""'))) failures.push(`${where}: whitespace between tokens`);
          // the grammar's own view of the end: complete (nothing may follow) unless the model ended it
          const m = new GrammarMatcher(grammar);
          if (!m.acceptText(r.text) || !m.canEnd) failures.push(`${where}: not a complete sentence of the schema's grammar`);
          else if (m.canContinue !== (r.finishReason === 'eos')) failures.push(`${where}: ended although ${m.canContinue ? 'more could follow' : 'nothing could follow'}`);
        });
        seen.set(name, texts);
      });
    }
    expect(failures).toEqual([]);
    // the seeds matter: schemas with room for variety get more than one distinct output overall
    const varied = [...seen.values()].filter((t) => t.size > 1).length;
    expect(varied).toBeGreaterThanOrEqual(20);
  }, 900_000);
});
