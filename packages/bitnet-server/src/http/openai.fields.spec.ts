/**
 * No OpenAI request field is silently ignored: every documented field of /v1/completions and
 * /v1/chat/completions is sent (a table of field → sample value → applied or rejected), and the
 * ones with an observable effect (logit_bias, presence/frequency penalties, seed) are shown to act.
 * Also the sampling defaults across routes: at temperature 0, /v1/stream and /v1/completions give the
 * same ids. Against a listening server on the bundled model.
 */
import { defaultModelPath } from '@bitnet/inference';
import type { BitnetServer } from '../server';
import { postJson, postSse, startTestServer, tokenEvents } from '../testing/harness';

let server: BitnetServer;
let url: string;

beforeAll(async () => {
  server = await startTestServer(defaultModelPath(), { threads: 1 });
  url = server.url;
}, 60_000);

afterAll(async () => {
  await server?.close();
});

type Route = 'chat' | 'text';
type Fate = 'applied' | 'rejected';

const PROMPT = 'And God said';
const base = (route: Route): Record<string, unknown> =>
  route === 'chat' ? { messages: [{ role: 'user', content: PROMPT }], max_tokens: 4 } : { prompt: PROMPT, max_tokens: 4 };
const path = (route: Route) => (route === 'chat' ? '/v1/chat/completions' : '/v1/completions');

/**
 * OpenAI's documented request fields (chat: the Chat Completions reference; text: the legacy
 * Completions reference) with a value a client might send, and what the server must do with it.
 * `param`: the field the 422 must name when it is not the field itself.
 */
const FIELDS: Array<{ field: string; value: unknown; fate: Fate; routes: Route[]; param?: string }> = [
  { field: 'model', value: 'gpt-4o', fate: 'applied', routes: ['chat', 'text'] },
  { field: 'max_tokens', value: 3, fate: 'applied', routes: ['chat', 'text'] },
  { field: 'max_completion_tokens', value: 3, fate: 'applied', routes: ['chat'] },
  { field: 'temperature', value: 0.5, fate: 'applied', routes: ['chat', 'text'] },
  { field: 'top_p', value: 0.8, fate: 'applied', routes: ['chat', 'text'] },
  { field: 'presence_penalty', value: 1.5, fate: 'applied', routes: ['chat', 'text'] },
  { field: 'frequency_penalty', value: -0.5, fate: 'applied', routes: ['chat', 'text'] },
  { field: 'logit_bias', value: { '50': -100 }, fate: 'applied', routes: ['chat', 'text'] },
  { field: 'seed', value: 12, fate: 'applied', routes: ['chat', 'text'] },
  { field: 'stop', value: ['\n'], fate: 'applied', routes: ['chat', 'text'] },
  { field: 'stream', value: false, fate: 'applied', routes: ['chat', 'text'] },
  { field: 'stream_options', value: null, fate: 'applied', routes: ['chat', 'text'] },
  { field: 'user', value: 'user-1234', fate: 'applied', routes: ['chat', 'text'] },
  { field: 'metadata', value: { team: 'a' }, fate: 'applied', routes: ['chat', 'text'] },
  { field: 'n', value: 1, fate: 'applied', routes: ['chat', 'text'] },
  { field: 'n', value: 2, fate: 'rejected', routes: ['chat', 'text'] },
  { field: 'best_of', value: 2, fate: 'rejected', routes: ['text'] },
  { field: 'echo', value: true, fate: 'rejected', routes: ['text'] },
  { field: 'suffix', value: ' amen', fate: 'rejected', routes: ['text'] },
  { field: 'logprobs', value: true, fate: 'applied', routes: ['chat'] },
  { field: 'logprobs', value: 2, fate: 'applied', routes: ['text'] },
  // alone, without logprobs: true (with it, it is applied: server.logprobs.spec.ts)
  { field: 'top_logprobs', value: 2, fate: 'rejected', routes: ['chat'] },
  { field: 'store', value: false, fate: 'applied', routes: ['chat'] },
  { field: 'store', value: true, fate: 'rejected', routes: ['chat'] },
  { field: 'service_tier', value: 'auto', fate: 'applied', routes: ['chat'] },
  { field: 'service_tier', value: 'flex', fate: 'rejected', routes: ['chat'] },
  { field: 'modalities', value: ['text'], fate: 'applied', routes: ['chat'] },
  { field: 'modalities', value: ['text', 'audio'], fate: 'rejected', routes: ['chat'], param: 'modalities[1]' },
  { field: 'response_format', value: { type: 'text' }, fate: 'applied', routes: ['chat', 'text'] },
  { field: 'response_format', value: { type: 'json_object' }, fate: 'applied', routes: ['chat', 'text'] },
  { field: 'response_format', value: { type: 'json_schema', json_schema: { name: 'n', strict: true, schema: { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'], additionalProperties: false } } }, fate: 'applied', routes: ['chat', 'text'] },
  { field: 'response_format', value: { type: 'json_schema', json_schema: { name: 'n', schema: { type: 'string', pattern: 'a+' } } }, fate: 'rejected', routes: ['chat', 'text'], param: 'response_format.json_schema.schema' },
  { field: 'response_format', value: { type: 'json_schema' }, fate: 'rejected', routes: ['chat'], param: 'response_format.json_schema' },
  { field: 'response_format', value: { type: 'xml' }, fate: 'rejected', routes: ['chat'], param: 'response_format.type' },
  { field: 'tools', value: [{ type: 'function', function: { name: 'f', parameters: {} } }], fate: 'rejected', routes: ['chat'] },
  { field: 'tool_choice', value: 'none', fate: 'applied', routes: ['chat'] },
  { field: 'tool_choice', value: 'auto', fate: 'rejected', routes: ['chat'] },
  { field: 'parallel_tool_calls', value: true, fate: 'rejected', routes: ['chat'] },
  { field: 'functions', value: [{ name: 'f' }], fate: 'rejected', routes: ['chat'] },
  { field: 'function_call', value: 'auto', fate: 'rejected', routes: ['chat'] },
  { field: 'audio', value: { voice: 'alloy', format: 'wav' }, fate: 'rejected', routes: ['chat'] },
  { field: 'prediction', value: { type: 'content', content: 'x' }, fate: 'rejected', routes: ['chat'] },
  { field: 'reasoning_effort', value: 'low', fate: 'rejected', routes: ['chat'] },
  { field: 'web_search_options', value: {}, fate: 'rejected', routes: ['chat'] },
  { field: 'verbosity', value: 'low', fate: 'rejected', routes: ['chat'] },
  { field: 'prompt_cache_key', value: 'k', fate: 'rejected', routes: ['chat'] },
  { field: 'safety_identifier', value: 'u', fate: 'rejected', routes: ['chat'] },
];

const CASES = FIELDS.flatMap((f) => f.routes.map((route) => [route, f.field, JSON.stringify(f.value), f] as const));

describe('every OpenAI request field is applied or rejected by name', () => {
  it.each(CASES)('%s: %s = %s', async (route, field, _shown, f) => {
    const r = await postJson(`${url}${path(route)}`, { ...base(route), [field]: f.value });
    if (f.fate === 'applied') {
      expect({ field, status: r.status, error: r.body.error }).toEqual({ field, status: 200, error: undefined });
    } else {
      expect({ field, status: r.status }).toEqual({ field, status: 422 });
      expect(r.body.error.param).toBe(f.param ?? field);
      expect(r.body.error.message.startsWith(`${f.param ?? field}:`)).toBe(true);
    }
  }, 30_000);
});

/** The ids of a non-streamed completion. */
async function ids(body: Record<string, unknown>): Promise<number[]> {
  const r = await postJson(`${url}/v1/completions`, { prompt: PROMPT, ...body });
  expect(r.status).toBe(200);
  return r.body.choices[0].token_ids;
}

describe('effects on the bundled model', () => {
  it('logit_bias -100 never yields the token, at any temperature; +100 forces it', async () => {
    const greedy = await ids({ max_tokens: 12, temperature: 0 });
    const banned = [...new Set(greedy)];
    const bias = Object.fromEntries(banned.map((id) => [String(id), -100]));
    const withoutBan = await ids({ max_tokens: 12, temperature: 0, logit_bias: bias });
    expect(withoutBan.some((id) => banned.includes(id))).toBe(false);
    for (const seed of [1, 2, 3]) {
      const sampled = await ids({ max_tokens: 12, temperature: 2, seed, logit_bias: bias });
      expect(sampled.some((id) => banned.includes(id))).toBe(false);
    }
    const forced = greedy[0];
    for (const route of ['text', 'chat'] as const) {
      const r = await postJson(`${url}${path(route)}`, { ...base(route), max_tokens: 6, temperature: 1.5, seed: 9, logit_bias: { [forced]: 100 } });
      expect(r.status).toBe(200);
      expect(r.body.choices[0].token_ids).toEqual(Array(6).fill(forced));
    }
  }, 60_000);

  it('logit_bias: a token id outside the vocabulary or a bias outside [-100, 100] is a 422 naming logit_bias', async () => {
    for (const [bias, message] of [
      [{ '99999999': 1 }, /logit_bias: token id 99999999 is not in the vocabulary/],
      [{ '5': 150 }, /logit_bias: the bias of token 5 must be a number from -100 to 100/],
      [{ x: 1 }, /logit_bias: keys must be token ids/],
      [[1], /logit_bias: must be an object/],
    ] as const) {
      const r = await postJson(`${url}/v1/completions`, { prompt: PROMPT, max_tokens: 2, logit_bias: bias });
      expect({ status: r.status, param: r.body.error?.param }).toEqual({ status: 422, param: 'logit_bias' });
      expect(r.body.error.message).toMatch(message);
    }
  });

  it('presence_penalty and frequency_penalty change greedy output; out of -2..2 is a 422', async () => {
    const plain = await ids({ max_tokens: 24, temperature: 0 });
    const freq = await ids({ max_tokens: 24, temperature: 0, frequency_penalty: 2 });
    const pres = await ids({ max_tokens: 24, temperature: 0, presence_penalty: 2 });
    expect(freq).not.toEqual(plain);
    expect(pres).not.toEqual(plain);
    // penalized against repeats: at least as many distinct tokens
    expect(new Set(freq).size).toBeGreaterThanOrEqual(new Set(plain).size);
    expect(await ids({ max_tokens: 24, temperature: 0, frequency_penalty: 2 })).toEqual(freq);
    for (const field of ['presence_penalty', 'frequency_penalty']) {
      const r = await postJson(`${url}/v1/completions`, { prompt: PROMPT, max_tokens: 2, [field]: 2.5 });
      expect({ status: r.status, param: r.body.error?.param, message: r.body.error?.message }).toEqual({ status: 422, param: field, message: `${field}: must be <= 2, got 2.5` });
    }
  }, 60_000);

  it('seed: the same seed repeats a sampled completion', async () => {
    const a = await ids({ max_tokens: 10, temperature: 1, seed: 77 });
    expect(await ids({ max_tokens: 10, temperature: 1, seed: 77 })).toEqual(a);
  });
});

describe('one set of defaults', () => {
  it('temperature 0 gives the same ids through /v1/stream and /v1/completions', async () => {
    const stream = await postSse(`${url}/v1/stream`, { prompt: PROMPT, max_tokens: 16, temperature: 0 });
    const viaStream = tokenEvents(stream).map((t) => t.token_id);
    expect(viaStream).toHaveLength(16);
    expect(await ids({ max_tokens: 16, temperature: 0 })).toEqual(viaStream);
  }, 30_000);

  it('/v1/stream without a seed draws a fresh one and reports it; sending it back repeats the run', async () => {
    const runs = await Promise.all([1, 2].map(() => postSse(`${url}/v1/stream`, { prompt: PROMPT, max_tokens: 8 })));
    const seeds = runs.map((r) => (JSON.parse(r.events[r.events.length - 1].data) as { seed: number }).seed);
    expect(seeds[0]).not.toBe(seeds[1]);
    const again = await postSse(`${url}/v1/stream`, { prompt: PROMPT, max_tokens: 8, seed: seeds[0] });
    expect(tokenEvents(again).map((t) => t.token_id)).toEqual(tokenEvents(runs[0]).map((t) => t.token_id));
  }, 30_000);

  it('/v1/stream applies logit_bias and the OpenAI penalties too', async () => {
    const plain = tokenEvents(await postSse(`${url}/v1/stream`, { prompt: PROMPT, max_tokens: 6, temperature: 0 })).map((t) => t.token_id);
    const forced = tokenEvents(await postSse(`${url}/v1/stream`, { prompt: PROMPT, max_tokens: 6, seed: 3, logit_bias: { [plain[1]]: 100 } })).map((t) => t.token_id);
    expect(forced).toEqual(Array(6).fill(plain[1]));
    const r = await postSse(`${url}/v1/stream`, { prompt: PROMPT, max_tokens: 6, presence_penalty: 3 });
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ error: { param: 'presence_penalty' } });
  }, 30_000);
});
