/**
 * Constrained output through the server, on the bundled model: /v1/stream's `json_schema` and
 * `grammar` (valid JSON / grammar text, completion_reason 'grammar_complete', 422s naming the field),
 * OpenAI's `response_format` (json_object, json_schema; streamed and not; finish_reason 'stop') and
 * the official `openai` client's structured-output helper (`zodResponseFormat` +
 * `chat.completions.parse`) used unchanged. Every output is parsed and checked with ajv.
 */
import Ajv from 'ajv';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { defaultModelPath } from '@bitnet/inference';
import type { BitnetServer } from './server';
import { postJson, postSse, startTestServer, tokenEvents } from './testing/harness';

let server: BitnetServer;
let url: string;
let client: OpenAI;
const ajv = new Ajv({ strict: false });

beforeAll(async () => {
  server = await startTestServer(defaultModelPath(), { threads: 1 });
  url = server.url;
  client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
}, 60_000);

afterAll(async () => {
  await server?.close();
});

const PROMPT = 'And God said';

/** Schemas of varied shape, every string and array bounded so the value completes within max_tokens. */
const SCHEMAS: Array<[string, Record<string, unknown> | boolean]> = [
  [
    'object with required, enum, integer, bounded array',
    {
      type: 'object',
      properties: {
        name: { type: 'string', maxLength: 12 },
        book: { enum: ['Genesis', 'Exodus', 'Psalms'] },
        chapter: { type: 'integer' },
        verses: { type: 'array', items: { type: 'boolean' }, minItems: 1, maxItems: 3 },
      },
      required: ['name', 'book', 'chapter', 'verses'],
      additionalProperties: false,
    },
  ],
  [
    'anyOf with $defs / $ref',
    {
      $defs: { word: { type: 'string', minLength: 1, maxLength: 8 } },
      type: 'object',
      properties: { item: { anyOf: [{ $ref: '#/$defs/word' }, { type: 'integer' }, { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] }] } },
      required: ['item'],
    },
  ],
  ['array of bounded strings', { type: 'array', items: { type: 'string', maxLength: 6 }, minItems: 2, maxItems: 4 }],
];

/** JSON text with its string literals taken out (what is left has no whitespace under the 'none' policy). */
const outsideStrings = (json: string) => json.replace(/"(?:[^"\\]|\\.)*"/g, '""');

/** The `complete` event of a /v1/stream response, parsed. */
function completeOf(r: { events: Array<{ event: string; data: string }> }): Record<string, unknown> {
  const last = r.events[r.events.length - 1];
  expect(last.event).toBe('complete');
  return JSON.parse(last.data) as Record<string, unknown>;
}

describe('/v1/stream json_schema and grammar', () => {
  it.each(SCHEMAS)('json_schema (%s): the text parses and validates at temperature 1, completion_reason grammar_complete', async (_name, schema) => {
    const validate = ajv.compile(schema);
    for (const seed of [1, 2, 3]) {
      const r = await postSse(`${url}/v1/stream`, { prompt: PROMPT, json_schema: schema, max_tokens: 200, temperature: 1, seed });
      expect(r.status).toBe(200);
      const text = tokenEvents(r).map((t) => t.token).join('');
      const value: unknown = JSON.parse(text);
      expect({ seed, text, valid: validate(value), errors: validate.errors }).toMatchObject({ valid: true });
      expect(outsideStrings(text)).not.toMatch(/\s/); // whitespace 'none'
      expect(completeOf(r)).toMatchObject({ completion_reason: 'grammar_complete', finish_reason: 'stop', completed_normally: true });
    }
  }, 120_000);

  it('grammar: GBNF text gives only strings the grammar accepts', async () => {
    const grammar = 'root ::= ("yea" | "nay") " " [0-9]{1,3} ("." | "!")';
    for (const seed of [1, 2]) {
      const r = await postSse(`${url}/v1/stream`, { prompt: PROMPT, grammar, max_tokens: 40, temperature: 1, seed });
      const text = tokenEvents(r).map((t) => t.token).join('');
      expect(text).toMatch(/^(yea|nay) [0-9]{1,3}[.!]$/);
      expect(completeOf(r)).toMatchObject({ completion_reason: 'grammar_complete' });
    }
  }, 60_000);

  it('422s: both fields, an unsupported or unsatisfiable schema, a bad grammar — each names its field and carries the reason', async () => {
    const post = (extra: Record<string, unknown>) => postSse(`${url}/v1/stream`, { prompt: PROMPT, max_tokens: 4, ...extra });
    const both = await post({ json_schema: { type: 'string' }, grammar: 'root ::= "x"' });
    expect({ status: both.status, param: (both.body as any).error.param }).toEqual({ status: 422, param: 'grammar' });

    const unsupported = await post({ json_schema: { type: 'object', properties: { s: { type: 'string', pattern: '^a' } } } });
    expect(unsupported.status).toBe(422);
    expect((unsupported.body as any).error).toMatchObject({ param: 'json_schema', schema_path: '/properties/s/pattern', keyword: 'pattern', reason: 'unsupported' });
    expect((unsupported.body as any).error.message).toMatch(/^json_schema: JSON schema \/properties\/s\/pattern: pattern: /);

    const unsatisfiable = await post({ json_schema: { type: 'object', properties: { a: { $ref: '#' } }, required: ['a'] } });
    expect(unsatisfiable.status).toBe(422);
    expect((unsatisfiable.body as any).error).toMatchObject({ param: 'json_schema', reason: 'unsatisfiable' });

    const notSchema = await post({ json_schema: 'string' });
    expect({ status: notSchema.status, param: (notSchema.body as any).error.param }).toEqual({ status: 422, param: 'json_schema' });

    const badGrammar = await post({ grammar: 'root ::= "a"\nthing ::= (' });
    expect(badGrammar.status).toBe(422);
    expect((badGrammar.body as any).error).toMatchObject({ param: 'grammar', line: 2 });
    expect((badGrammar.body as any).error.message).toMatch(/^grammar: grammar: /);

    const empty = await post({ grammar: 'root ::= a\na ::= "x" a' });
    expect((empty.body as any).error).toMatchObject({ param: 'grammar' });
    expect((empty.body as any).error.message).toMatch(/accepts no finite text/);
  });
});

describe('OpenAI response_format', () => {
  const SCHEMA = SCHEMAS[0][1] as Record<string, unknown>;

  it('chat json_schema: content validates, finish_reason stop; streamed chunks concatenate to a valid value', async () => {
    const validate = ajv.compile(SCHEMA);
    const response_format = { type: 'json_schema', json_schema: { name: 'verse', strict: true, schema: SCHEMA } };
    const messages = [{ role: 'user', content: 'Name a verse' }];
    const r = await postJson(`${url}/v1/chat/completions`, { messages, response_format, max_tokens: 200, temperature: 1, seed: 5 });
    expect(r.status).toBe(200);
    const content = r.body.choices[0].message.content as string;
    expect(validate(JSON.parse(content))).toBe(true);
    expect(r.body.choices[0].finish_reason).toBe('stop');

    const s = await postSse(`${url}/v1/chat/completions`, { messages, response_format, max_tokens: 200, temperature: 1, seed: 5, stream: true });
    const chunks = s.events.map((e) => e.data).filter((d) => d !== '[DONE]').map((d) => JSON.parse(d));
    const streamed = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(streamed).toBe(content);
    expect(chunks[chunks.length - 1].choices[0].finish_reason).toBe('stop');
  }, 60_000);

  it('json_object on chat and completions: any JSON object, canonical form', async () => {
    for (const seed of [1, 2]) {
      const chat = await postJson(`${url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'Hi' }], response_format: { type: 'json_object' }, max_tokens: 200, temperature: 0.8, seed });
      const text = await postJson(`${url}/v1/completions`, { prompt: PROMPT, response_format: { type: 'json_object' }, max_tokens: 200, temperature: 0.8, seed });
      for (const [out, finish] of [
        [chat.body.choices[0].message.content as string, chat.body.choices[0].finish_reason],
        [text.body.choices[0].text as string, text.body.choices[0].finish_reason],
      ]) {
        // at max_tokens the object may be cut short; when it completes it parses as an object
        if (finish === 'length') {
          expect(out.startsWith('{')).toBe(true);
          continue;
        }
        expect(finish).toBe('stop');
        const v: unknown = JSON.parse(out);
        expect(typeof v === 'object' && v !== null && !Array.isArray(v)).toBe(true);
        expect(outsideStrings(out)).not.toMatch(/\s/);
      }
    }
  }, 120_000);

  it('a bad response_format is a 422 naming the field', async () => {
    const post = (response_format: unknown) => postJson(`${url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, response_format });
    const bad = await post({ type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', format: 'email' } } });
    expect(bad.status).toBe(422);
    expect(bad.body.error).toMatchObject({ param: 'response_format.json_schema.schema', keyword: 'format' });
    const noName = await post({ type: 'json_schema', json_schema: { schema: { type: 'string' } } });
    expect({ status: noName.status, param: noName.body.error.param }).toEqual({ status: 422, param: 'response_format.json_schema.name' });
    const noSchema = await post({ type: 'json_schema', json_schema: { name: 'x' } });
    expect({ status: noSchema.status, param: noSchema.body.error.param }).toEqual({ status: 422, param: 'response_format.json_schema.schema' });
    const unknown = await post({ type: 'xml' });
    expect({ status: unknown.status, param: unknown.body.error.param }).toEqual({ status: 422, param: 'response_format.type' });
  });
});

describe('the openai client structured-output helper, unchanged', () => {
  it('chat.completions.parse with zodResponseFormat returns a parsed object the zod schema accepts', async () => {
    const Verse = z.object({
      book: z.enum(['Genesis', 'Exodus', 'Ruth']),
      chapter: z.number().int().min(1).max(150),
      verse: z.number().int(), // minimum / maximum ±(2^53 - 1): an exact integer range in the grammar
      weight: z.number(),
      words: z.array(z.string().max(8)).max(3),
      note: z.string().max(10).nullable(),
      kept: z.boolean(),
    });
    for (const seed of [1, 2, 3]) {
      const completion = await client.chat.completions.parse({
        model: 'bitnet',
        messages: [{ role: 'user', content: 'Give a verse as JSON' }],
        response_format: zodResponseFormat(Verse, 'verse'),
        max_tokens: 200,
        temperature: 1,
        seed,
      });
      const message = completion.choices[0].message;
      expect(completion.choices[0].finish_reason).toBe('stop');
      expect(message.parsed).not.toBeNull();
      expect(Verse.safeParse(message.parsed).success).toBe(true);
      expect(message.parsed).toEqual(JSON.parse(message.content!));
    }
  }, 120_000);
});
