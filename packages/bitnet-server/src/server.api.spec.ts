/**
 * Everything around the stream: health, metrics, OpenAI compatibility (the official `openai`
 * client), admission (429), API keys and every bad-input case, against listening servers on a
 * small synthetic model.
 */
import * as fs from 'node:fs';
import OpenAI from 'openai';
import { InferenceEngine } from '@bitnet/inference';
import type { BitnetServer } from './server';
import { TEST_PREFILL_CHUNK, metric, postJson, postSse, startTestServer, tokenEvents, waitFor, writeTinyModel } from './testing/harness';

let dir: string;
let modelPath: string;
let server: BitnetServer;
let url: string;

beforeAll(async () => {
  ({ dir, modelPath } = writeTinyModel());
  server = await startTestServer(modelPath, { maxConcurrent: 1, maxQueue: 1, maxBodyBytes: 4096, keepAliveMs: 100 });
  url = server.url;
});

afterAll(async () => {
  await server?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** After an error the server still serves: /health and a short stream. */
async function stillServing(base = url, headers: Record<string, string> = {}): Promise<void> {
  expect((await fetch(`${base}/health`)).status).toBe(200);
  const r = await postSse(`${base}/v1/stream`, { prompt: 'still here', max_tokens: 3, seed: 1 }, { headers });
  expect(r.status).toBe(200);
  expect(r.events[r.events.length - 1].event).toBe('complete');
}

describe('health and metrics', () => {
  it('GET /health, /health/live, /health/ready describe the server and the model', async () => {
    const h = (await (await fetch(`${url}/health`)).json()) as { model: { parameters: number }; uptime_seconds: number };
    expect(h).toMatchObject({
      status: 'ok',
      version: '0.1.0',
      model: { architecture: 'bitnet-b1.58', quantization: 'I2_S', context_length: 2048, file: 'tiny.gguf' },
      streams: { active: 0, queued: 0, max_concurrent: 1, max_queue: 1 },
      output: { type: 'exact', matrix: 'F16' },
    });
    expect(h.model.parameters).toBeGreaterThan(100_000);
    expect(h.uptime_seconds).toBeGreaterThanOrEqual(0);
    expect((await fetch(`${url}/health/live`)).status).toBe(200);
    expect(await (await fetch(`${url}/health/ready`)).json()).toMatchObject({ status: 'ready' });
  });

  it('GET /metrics is Prometheus text with requests, tokens, latency histograms, streams, errors', async () => {
    await postSse(`${url}/v1/stream`, { prompt: 'count me', max_tokens: 4, seed: 2 });
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const name of [
      'bitnet_http_requests_total',
      'bitnet_generated_tokens_total',
      'bitnet_time_to_first_token_seconds',
      'bitnet_request_duration_seconds',
      'bitnet_streams_active',
      'bitnet_streams_queued',
      'bitnet_cancellations_total',
      'bitnet_errors_total',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toMatch(/bitnet_time_to_first_token_seconds_bucket\{le="\+Inf"\} [1-9]/);
    expect(await metric(url, 'bitnet_http_requests_total', { route: '/v1/stream', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(await metric(url, 'bitnet_generated_tokens_total')).toBeGreaterThanOrEqual(4);
  });
});

describe('bad input: a JSON error with the right status, and the server keeps serving', () => {
  it('400 for a body that is not JSON', async () => {
    const r = await postJson(`${url}/v1/stream`, '{"prompt": "unterminated');
    expect(r.status).toBe(400);
    expect(r.body.error.type).toBe('invalid_json');
    expect(r.headers.get('content-type')).toMatch(/application\/json/);
    expect(JSON.stringify(r.body)).not.toMatch(/\bat .*\.(js|ts):\d+/); // no stack trace
    await stillServing();
  });

  it('415 for another content type', async () => {
    const res = await fetch(`${url}/v1/stream`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'prompt=hi' });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('unsupported_media_type');
    await stillServing();
  });

  it('413 for a body over the limit', async () => {
    const r = await postJson(`${url}/v1/stream`, { prompt: 'x'.repeat(10_000) });
    expect(r.status).toBe(413);
    expect(r.body.error).toMatchObject({ type: 'payload_too_large', limit_bytes: 4096 });
    await stillServing();
  });

  it('422 naming the field and the rule', async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{}, 'prompt', /required/],
      [{ prompt: 42 }, 'prompt', /string/],
      [{ prompt: 'hi', max_tokens: 0 }, 'max_tokens', />= 1/],
      [{ prompt: 'hi', max_tokens: 2.5 }, 'max_tokens', /integer/],
      [{ prompt: 'hi', temperature: -1 }, 'temperature', />= 0/],
      [{ prompt: 'hi', top_p: 1.5 }, 'top_p', /\(0, 1\]/],
      [{ prompt: 'hi', top_k: 'many' }, 'top_k', /number/],
      [{ prompt: 'hi', min_p: 1 }, 'min_p', /\[0, 1\)/],
      [{ prompt: 'hi', repetition_penalty: 0 }, 'repetition_penalty', /\(0, 10\]/],
      [{ prompt: 'hi', stop: [1] }, 'stop', /string/],
      [{ prompt: 'hi', seed: -3 }, 'seed', />= 0/],
      [{ prompt: 'hi', buffer_size: 0 }, 'buffer_size', />= 1/],
      [{ prompt: 'hi', flush_interval_ms: 'soon' }, 'flush_interval_ms', /number/],
      [{ prompt: 'hi', detailed_errors: 'yes' }, 'detailed_errors', /boolean/],
    ];
    for (const [body, field, rule] of cases) {
      const r = await postJson(`${url}/v1/stream`, body);
      expect({ body, status: r.status, param: r.body.error?.param }).toEqual({ body, status: 422, param: field });
      expect(r.body.error.message).toMatch(new RegExp(`^${field}: `));
      expect(r.body.error.message).toMatch(rule);
    }
    await stillServing();
  });

  it('400 for a prompt longer than the context, with both counts', async () => {
    const prompt = 'zq'.repeat(1100); // 2200 byte tokens (no merges) > 2048
    const tokens = server.context.engine.encodePrompt(prompt).length;
    const body = JSON.stringify({ prompt });
    const big = await startTestServer(modelPath, { maxBodyBytes: 64 * 1024 });
    try {
      const r = await postJson(`${big.url}/v1/stream`, body);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ type: 'prompt_too_long', prompt_tokens: tokens, context_length: 2048 });
      expect(r.body.error.message).toContain(String(tokens));
      expect(r.body.error.message).toContain('2048');
      // prompt + max_tokens over the context: also 400 with the counts
      const r2 = await postJson(`${big.url}/v1/stream`, { prompt: 'short', max_tokens: 2047 });
      expect(r2.status).toBe(400);
      expect(r2.body.error).toMatchObject({ type: 'context_overflow', max_tokens: 2047, context_length: 2048 });
      expect(r2.body.error.prompt_tokens).toBeGreaterThan(1);
      await stillServing(big.url);
    } finally {
      await big.close();
    }
  });

  it('404 JSON for unknown routes', async () => {
    for (const [method, path] of [['GET', '/nope'], ['POST', '/v1/nothing'], ['GET', '/v1/stream']]) {
      const res = await fetch(`${url}${path}`, { method });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: { type: 'not_found' } });
    }
    await stillServing();
  });

  it('401 for a missing or wrong API key when one is configured', async () => {
    const secured = await startTestServer(modelPath, { apiKey: 'sesame' });
    try {
      const missing = await postJson(`${secured.url}/v1/stream`, { prompt: 'hi', max_tokens: 2 });
      expect(missing.status).toBe(401);
      expect(missing.body.error.code).toBe('missing_api_key');
      expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const wrong = await postJson(`${secured.url}/v1/stream`, { prompt: 'hi', max_tokens: 2 }, { Authorization: 'Bearer nope' });
      expect(wrong.status).toBe(401);
      expect(wrong.body.error.code).toBe('invalid_api_key');
      expect((await fetch(`${secured.url}/metrics`)).status).toBe(401);
      expect((await fetch(`${secured.url}/health`)).status).toBe(200); // probes need no key
      await stillServing(secured.url, { Authorization: 'Bearer sesame' });
    } finally {
      await secured.close();
    }
  });
});

describe('admission', () => {
  it('429 with Retry-After when max-concurrent and max-queue are full; queued requests still complete', async () => {
    const long = { prompt: 'Busy busy', max_tokens: 1500, temperature: 0 }; // greedy: runs to max_tokens on this model
    const first = new AbortController();
    const running = postSse(`${url}/v1/stream`, long, { signal: first.signal });
    await waitFor(async () => (await metric(url, 'bitnet_streams_active')) === 1, 5000, 'the first stream to run');
    const queued = postSse(`${url}/v1/stream`, { prompt: 'waiting', max_tokens: 3, seed: 1 });
    await waitFor(async () => (await metric(url, 'bitnet_streams_queued')) === 1, 5000, 'the second to queue');
    const refused = await postJson(`${url}/v1/stream`, { prompt: 'no room', max_tokens: 3 });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.body.error).toMatchObject({ type: 'overloaded', active: 1, queued: 1, max_concurrent: 1, max_queue: 1 });
    const openai = await postJson(`${url}/v1/completions`, { prompt: 'no room', max_tokens: 3 });
    expect(openai.status).toBe(429);
    first.abort();
    await running;
    const q = await queued;
    expect(q.status).toBe(200);
    expect(tokenEvents(q).length).toBe(3);
    expect(await metric(url, 'bitnet_rejected_total')).toBeGreaterThanOrEqual(2);
    await stillServing();
  });
});

describe('OpenAI compatibility', () => {
  let client: OpenAI;
  let reference: InferenceEngine;
  beforeAll(async () => {
    client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
    reference = await InferenceEngine.load(modelPath, { maxChunkTokens: TEST_PREFILL_CHUNK });
  });
  afterAll(() => reference?.close());

  it('GET /v1/models lists the model', async () => {
    const models = [];
    for await (const m of client.models.list()) models.push(m);
    expect(models.map((m) => m.id)).toEqual(['tiny']);
  });

  it('the openai client streams /v1/chat/completions unchanged, usage included', async () => {
    const stream = await client.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: 'Hello there' }],
      max_tokens: 12,
      temperature: 0.9,
      seed: 4,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    const ids: number[] = [];
    const deltas: Array<{ id: number; text: string }> = [];
    let finish: string | null = null;
    let usage;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const c = chunk.choices[0];
      if (!c) continue;
      text += c.delta.content ?? '';
      const tokenIds = (c as unknown as { token_ids?: number[] }).token_ids ?? [];
      ids.push(...tokenIds);
      if (tokenIds.length === 1) deltas.push({ id: tokenIds[0], text: c.delta.content ?? '' });
      if (c.finish_reason) finish = c.finish_reason;
    }
    expect(ids.length).toBeGreaterThan(0);
    expect(usage).toEqual({ prompt_tokens: expect.any(Number), completion_tokens: ids.length, total_tokens: expect.any(Number), prompt_tokens_details: { cached_tokens: expect.any(Number) } });
    expect(['stop', 'length']).toContain(finish);
    // the same as the engine with the chat template and the same sampling settings
    const prompt = server.context.chatFormat === 'bitnet' ? 'User: Hello there<|eot_id|>Assistant: ' : undefined;
    if (prompt) {
      const expected = await reference.generate(prompt, { maxNewTokens: 12, temperature: 0.9, seed: 4, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1 });
      expect(ids).toEqual(expected.tokenIds);
      expect(text).toBe(expected.text);
      // one delta per token, carrying that token's piece
      expect(deltas).toEqual(expected.pieces);
    }
    // non-streaming
    const done = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 12, temperature: 0.9, seed: 4 });
    expect(done.object).toBe('chat.completion');
    expect(done.choices[0].message).toMatchObject({ role: 'assistant', content: text });
    expect(done.usage?.completion_tokens).toBe(ids.length);
  });

  it('the openai client streams /v1/completions unchanged', async () => {
    const stream = await client.completions.create({ model: 'tiny', prompt: 'In the beginning', max_tokens: 10, temperature: 0, stream: true });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    const expected = await reference.generate('In the beginning', { maxNewTokens: 10, temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1 });
    expect(text).toBe(expected.text);
    expect(finish).toBe(expected.finishReason === 'max_tokens' ? 'length' : 'stop');
    const done = await client.completions.create({ model: 'tiny', prompt: 'In the beginning', max_tokens: 10, temperature: 0 });
    expect(done.choices[0].text).toBe(expected.text);
    expect(done.usage).toMatchObject({ completion_tokens: expected.tokenIds.length, prompt_tokens: expected.promptIds.length });
  });

  it('raw stream: data-only chunks, include_usage, data: [DONE]', async () => {
    const r = await postSse(`${url}/v1/completions`, { prompt: 'Hi', max_tokens: 4, temperature: 0, stream: true, stream_options: { include_usage: true } });
    const datas = r.events.map((e) => e.data);
    expect(r.events.every((e) => e.event === 'message')).toBe(true);
    expect(datas[datas.length - 1]).toBe('[DONE]');
    const usageChunk = JSON.parse(datas[datas.length - 2]);
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage.completion_tokens).toBe(4);
    for (const d of datas.slice(0, -2)) expect(JSON.parse(d)).toHaveProperty('usage', null);
  });

  it('OpenAI-shaped 4xx errors the client understands', async () => {
    await expect(client.chat.completions.create({ model: 'tiny', messages: [], max_tokens: 3 })).rejects.toMatchObject({ status: 422, param: 'messages' });
    await expect(client.completions.create({ model: 'tiny', prompt: 'x', n: 2 })).rejects.toMatchObject({ status: 422, param: 'n' });
    await stillServing();
  });
});
