/**
 * Token logprobs on every surface, against a listening server on the small synthetic model: SSE
 * token events (and their replay and revival), OpenAI chat (content items) and completions (the
 * legacy shape), streamed and not — each checked against the engine's own pieces for the same
 * request, and for the shapes OpenAI documents.
 */
import * as fs from 'node:fs';
import OpenAI from 'openai';
import { InferenceEngine, type TokenPiece } from '@bitnet/inference';
import type { BitnetServer } from './server';
import { TEST_PREFILL_CHUNK, metric, postJson, postSse, startTestServer, tokenEvents, waitFor, writeTinyModel } from './testing/harness';

let dir: string;
let modelPath: string;
let server: BitnetServer;
let reference: InferenceEngine;
let client: OpenAI;

beforeAll(async () => {
  ({ dir, modelPath } = writeTinyModel());
  server = await startTestServer(modelPath, { keepAliveMs: 100 });
  reference = await InferenceEngine.load(modelPath, { maxChunkTokens: TEST_PREFILL_CHUNK });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await reference?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Explicit sampling, so the server's defaults do not matter: the penalty applies before the logprobs. */
const SAMPLING = { temperature: 0, top_k: 0, top_p: 1, min_p: 0, repetition_penalty: 1.2, seed: 3 };
const ENGINE_SAMPLING = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1.2, seed: 3 };
const PROMPT = 'In the beginning — café';

interface WireAlt {
  id?: number;
  token: string;
  logprob: number;
  bytes: number[] | null;
}
interface StreamToken {
  token: string;
  token_id: number;
  logprob?: number;
  bytes?: number[];
  top_logprobs?: WireAlt[];
}

function expectSortedSubDistribution(alts: ReadonlyArray<{ logprob: number }>): void {
  for (let i = 1; i < alts.length; i++) expect(alts[i].logprob).toBeLessThanOrEqual(alts[i - 1].logprob);
  expect(alts.reduce((s, a) => s + Math.exp(a.logprob), 0)).toBeLessThanOrEqual(1 + 1e-9);
}

/** A wire token (any shape) against the engine's piece for it. */
function expectSameAsPiece(logprob: number, top: WireAlt[], piece: TokenPiece): void {
  expect(logprob).toBeCloseTo(piece.logprob!, 6);
  expect(top.map((a) => a.token)).toEqual(piece.topLogprobs!.map((a) => a.text));
  expect(top.map((a) => a.bytes)).toEqual(piece.topLogprobs!.map((a) => a.bytes));
  top.forEach((a, i) => expect(a.logprob).toBeCloseTo(piece.topLogprobs![i].logprob, 6));
}

describe('/v1/stream', () => {
  it('token events carry logprob, bytes and top_logprobs only when asked, equal to the engine pieces', async () => {
    const plain = await postSse(`${server.url}/v1/stream`, { prompt: PROMPT, max_tokens: 12, ...SAMPLING });
    for (const t of tokenEvents(plain)) expect(Object.keys(t).sort()).toEqual(['cumulative_time_ms', 'position', 'token', 'token_id']);

    const r = await postSse(`${server.url}/v1/stream`, { prompt: PROMPT, max_tokens: 12, ...SAMPLING, logprobs: true, top_logprobs: 3 });
    const tokens = tokenEvents(r) as unknown as StreamToken[];
    const expected = await reference.generate(PROMPT, { maxNewTokens: 12, ...ENGINE_SAMPLING }, { logprobs: 3 });
    expect(tokens.map((t) => t.token_id)).toEqual(expected.tokenIds);
    tokens.forEach((t, i) => {
      expect(t.top_logprobs).toHaveLength(3);
      expectSameAsPiece(t.logprob!, t.top_logprobs!, expected.pieces[i]);
      expect(t.top_logprobs!.map((a) => a.id)).toEqual(expected.pieces[i].topLogprobs!.map((a) => a.id));
      expect(t.bytes).toEqual(Array.from(reference.tokenizer.tokenBytes(t.token_id)));
      expectSortedSubDistribution(t.top_logprobs!);
      // greedy: the chosen token is the most likely one
      expect(t.top_logprobs![0].id).toBe(t.token_id);
      expect(t.top_logprobs![0].logprob).toBe(t.logprob);
    });

    // the replay log keeps them: a reconnect resends the same events
    const replay = await postSse(`${server.url}/v1/stream`, undefined, { headers: { 'Last-Event-ID': r.events[0].id! } });
    expect(tokenEvents(replay)).toEqual(tokens.slice(1));
  }, 60_000);

  it('logprobs: true alone gives the chosen token only; a revived stream keeps computing them', async () => {
    const body = { prompt: PROMPT, max_tokens: 80, ...SAMPLING, logprobs: true };
    const full = tokenEvents(await postSse(`${server.url}/v1/stream`, body)) as unknown as StreamToken[];
    for (const t of full) expect(t.top_logprobs).toEqual([]);
    expect(full.length).toBeGreaterThan(8);
    // the client leaves after 4 tokens; reconnecting revives the generation from them
    const revivedBefore = await metric(server.url, 'bitnet_stream_generations_total', { start: 'revived' });
    const controller = new AbortController();
    let seen = 0;
    const first = await postSse(`${server.url}/v1/stream`, body, {
      signal: controller.signal,
      onEvent: (e) => {
        if (e.event === 'token' && ++seen === 4) controller.abort();
      },
    });
    const lastId = first.events.filter((e) => e.event === 'token')[3].id!;
    await waitFor(async () => (await metric(server.url, 'bitnet_streams_active')) === 0, 10_000, 'the dropped stream to stop');
    const rest = await postSse(`${server.url}/v1/stream`, undefined, { headers: { 'Last-Event-ID': lastId } });
    expect(rest.status).toBe(200);
    expect(await metric(server.url, 'bitnet_stream_generations_total', { start: 'revived' })).toBe(revivedBefore + 1);
    const after = tokenEvents(rest) as unknown as StreamToken[];
    expect(after.map((t) => t.token_id)).toEqual(full.slice(4).map((t) => t.token_id));
    after.forEach((t, i) => expect(t.logprob).toBeCloseTo(full[4 + i].logprob!, 6));
  }, 60_000);

  it.each([
    [{ top_logprobs: 2 }, 'top_logprobs', /requires logprobs: true/],
    [{ logprobs: false, top_logprobs: 2 }, 'top_logprobs', /requires logprobs: true/],
    [{ logprobs: true, top_logprobs: 21 }, 'top_logprobs', /<= 20/],
    [{ logprobs: 'yes' }, 'logprobs', /boolean/],
  ])('422 for %j', async (extra, param, message) => {
    const r = await postJson(`${server.url}/v1/stream`, { prompt: 'x', max_tokens: 2, ...extra });
    expect(r.status).toBe(422);
    expect(r.body.error.param).toBe(param);
    expect(r.body.error.message).toMatch(message);
  });
});

describe('OpenAI routes', () => {
  it('chat: logprobs.content items in OpenAI shape, streamed per chunk and whole, the same values', async () => {
    const request = { model: 'tiny', messages: [{ role: 'user' as const, content: 'Hello there' }], max_tokens: 10, temperature: 0, seed: 1, logprobs: true, top_logprobs: 2 };
    const done = await client.chat.completions.create(request);
    const content = done.choices[0].logprobs!.content!;
    expect(done.choices[0].logprobs!.refusal).toBeNull();
    expect(content).toHaveLength(done.usage!.completion_tokens);
    const ids = (done.choices[0] as unknown as { token_ids: number[] }).token_ids;
    content.forEach((item, i) => {
      expect(Object.keys(item).sort()).toEqual(['bytes', 'logprob', 'token', 'top_logprobs']);
      expect(item.token).toBe(reference.tokenizer.decode([ids[i]]));
      expect(item.bytes).toEqual(Array.from(reference.tokenizer.tokenBytes(ids[i])));
      expect(item.top_logprobs).toHaveLength(2);
      for (const alt of item.top_logprobs) expect(Object.keys(alt).sort()).toEqual(['bytes', 'logprob', 'token']);
      expectSortedSubDistribution(item.top_logprobs);
      expect(item.top_logprobs[0]).toEqual({ token: item.token, logprob: item.logprob, bytes: item.bytes });
    });

    const streamed: typeof content = [];
    for await (const chunk of await client.chat.completions.create({ ...request, stream: true })) {
      const c = chunk.choices[0];
      if (c?.delta.content !== undefined && c.finish_reason === null && c.delta.role === undefined) {
        expect(c.logprobs!.content).toHaveLength(1);
        streamed.push(...c.logprobs!.content!);
      } else if (c) {
        expect(c.logprobs).toBeNull();
      }
    }
    expect(streamed).toEqual(content);

    const without = await client.chat.completions.create({ ...request, logprobs: undefined, top_logprobs: undefined });
    expect(without.choices[0].logprobs).toBeNull();
  }, 60_000);

  it('chat: top_logprobs without logprobs is a 422 naming it', async () => {
    const r = await postJson(`${server.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'x' }], top_logprobs: 3 });
    expect(r.status).toBe(422);
    expect(r.body.error.param).toBe('top_logprobs');
  });

  it('completions: the legacy shape (tokens, token_logprobs, top_logprobs, text_offset), streamed and whole, equal to the engine', async () => {
    const body = { model: 'tiny', prompt: PROMPT, max_tokens: 12, logprobs: 3, ...SAMPLING };
    const expected = await reference.generate(PROMPT, { maxNewTokens: 12, ...ENGINE_SAMPLING }, { logprobs: 3 });
    const done = await postJson(`${server.url}/v1/completions`, body);
    expect(done.status).toBe(200);
    const lp = done.body.choices[0].logprobs;
    expect(Object.keys(lp).sort()).toEqual(['text_offset', 'token_logprobs', 'tokens', 'top_logprobs']);
    expect(lp.tokens).toEqual(expected.tokenIds.map((id) => reference.tokenizer.decode([id])));
    let offset = 0;
    expected.pieces.forEach((p, i) => {
      expect(lp.token_logprobs[i]).toBeCloseTo(p.logprob!, 6);
      expect(lp.text_offset[i]).toBe(offset);
      offset += p.text.length;
      const top = Object.entries(lp.top_logprobs[i] as Record<string, number>);
      const want = new Map<string, number>();
      for (const a of p.topLogprobs!) if (!want.has(a.text)) want.set(a.text, a.logprob);
      expect(top.map(([k]) => k).sort()).toEqual([...want.keys()].sort());
      for (const [k, v] of top) expect(v).toBeCloseTo(want.get(k)!, 6);
    });
    expect(done.body.choices[0].text).toBe(expected.text);

    const r = await postSse(`${server.url}/v1/completions`, { ...body, stream: true });
    const chunks = r.events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data));
    const merged = { tokens: [] as string[], token_logprobs: [] as number[], top_logprobs: [] as unknown[], text_offset: [] as number[] };
    for (const c of chunks) {
      const l = c.choices[0]?.logprobs;
      if (!l) continue;
      expect(l.tokens).toHaveLength(1);
      for (const k of Object.keys(merged) as Array<keyof typeof merged>) (merged[k] as unknown[]).push(...l[k]);
    }
    expect(merged).toEqual(lp);

    const off = await postJson(`${server.url}/v1/completions`, { ...body, logprobs: null });
    expect(off.body.choices[0].logprobs).toBeNull();
    const bad = await postJson(`${server.url}/v1/completions`, { ...body, logprobs: 21 });
    expect(bad.status).toBe(422);
    expect(bad.body.error.param).toBe('logprobs');
  }, 60_000);
});
