/**
 * @bitnet/client against the real server on the tiny synthetic model: the same token ids as a plain
 * fetch + eventsource-parser run, a dropped connection resumed through the drop proxy, the server's
 * errors as the client's typed errors, and the playground's copy of the client's browser module.
 */
import * as fs from 'node:fs';
import { BitnetClient, BitnetHttpError, type StreamPiece } from '@bitnet/client';
import type { BitnetServer } from './server';
import { clientModulePath } from './playground/playground';
import { startDropProxy } from './testing/dropProxy';
import { postSse, startTestServer, tokenEvents, writeTinyModel } from './testing/harness';

let dir: string;
let server: BitnetServer;

beforeAll(async () => {
  let modelPath: string;
  ({ dir, modelPath } = writeTinyModel());
  server = await startTestServer(modelPath, { apiKey: 'client-key' });
});

afterAll(async () => {
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const AUTH = { Authorization: 'Bearer client-key' };

type Proxy = Awaited<ReturnType<typeof startDropProxy>>;
type Stream = ReturnType<BitnetClient['stream']>;

/** Streams `body` through a proxy that drops the first connection after 5 events, then checks what the client collected. */
async function throughDroppingProxy(body: Parameters<BitnetClient['stream']>[0], check: (proxy: Proxy, stream: Stream, got: Awaited<ReturnType<Stream['collect']>>) => Promise<void>): Promise<void> {
  const proxy = await startDropProxy({ host: '127.0.0.1', port: server.port });
  try {
    proxy.dropNext('post /v1/stream', 5);
    const stream = new BitnetClient({ baseUrl: proxy.url, apiKey: 'client-key', retry: { initialDelayMs: 20 } }).stream(body);
    const got = await stream.collect();
    expect(proxy.drops).toBe(1);
    await check(proxy, stream, got);
  } finally {
    await proxy.close();
  }
}

describe('@bitnet/client against the server', () => {
  it("streams the same pieces as a plain postSse run at temperature 0: ids, texts, positions, the complete event", async () => {
    const body = { prompt: 'Through the storm', max_tokens: 40, temperature: 0 };
    const plain = await postSse(`${server.url}/v1/stream`, body, { headers: AUTH });
    const expected = tokenEvents(plain);
    expect(expected.length).toBeGreaterThan(0);
    const client = new BitnetClient({ baseUrl: server.url, apiKey: 'client-key' });
    const stream = client.stream(body);
    const pieces: StreamPiece[] = [];
    for await (const p of stream) pieces.push(p);
    expect(pieces.map((p) => p.id)).toEqual(expected.map((t) => t.token_id));
    expect(pieces.map((p) => p.text)).toEqual(expected.map((t) => t.token));
    expect(pieces.map((p) => p.position)).toEqual(expected.map((t) => t.position));
    expect(pieces.map((p) => p.index)).toEqual(expected.map((_, i) => i));
    expect(stream.streamId).toMatch(/\S/);
    expect(pieces.map((p) => p.eventId)).toEqual(expected.map((_, i) => `${stream.streamId}:${i + 1}`));
    const last = plain.events[plain.events.length - 1];
    expect(last.event).toBe('complete');
    expect(stream.complete).toMatchObject({ total_tokens: pieces.length, finish_reason: JSON.parse(last.data).finish_reason, completed_normally: true });
    expect(stream.reconnects).toBe(0);
    expect((await client.health()).model.id).toBe(server.context.model.id);
    expect((await client.models()).data.map((m) => m.id)).toEqual([server.context.model.id]);
  });

  it('resumes a connection dropped in mid-stream (Last-Event-ID, no body): every id once, in order', async () => {
    const body = { prompt: 'Go on and on', max_tokens: 60, temperature: 0.8, seed: 5 };
    const expected = tokenEvents(await postSse(`${server.url}/v1/stream`, body, { headers: AUTH })).map((t) => t.token_id);
    await throughDroppingProxy(body, async (proxy, stream, { pieces, complete }) => {
      expect(stream.reconnects).toBeGreaterThanOrEqual(1);
      expect(pieces.map((p) => p.id)).toEqual(expected);
      expect(complete.total_tokens).toBe(expected.length);
      const resumed = proxy.heads.filter((h) => h.startsWith('post /v1/stream') && h.includes('\r\nlast-event-id: '));
      expect(resumed.length).toBe(stream.reconnects);
      expect(/\r\nlast-event-id: (\S+)/.exec(resumed[0])![1]).toBe(`${stream.streamId}:5`.toLowerCase()); // the proxy lower-cases heads
      expect(resumed[0]).not.toMatch(/\r\ncontent-type:/);
    });
  });

  it('json_schema: a stream dropped mid-value is revived under the same schema: the same ids, a valid value, grammar_complete', async () => {
    const schema = {
      type: 'object',
      properties: { words: { type: 'array', items: { type: 'string', minLength: 2, maxLength: 6 }, minItems: 3, maxItems: 3 }, n: { type: 'integer' } },
      required: ['words', 'n'],
      additionalProperties: false,
    };
    const body = { prompt: 'Go on and on', max_tokens: 120, temperature: 1, seed: 11, json_schema: schema };
    const plain = await postSse(`${server.url}/v1/stream`, body, { headers: AUTH });
    const expected = tokenEvents(plain).map((t) => t.token_id);
    expect(expected.length).toBeGreaterThan(8);
    await throughDroppingProxy(body, async (_proxy, _stream, { pieces, complete }) => {
      expect(pieces.map((p) => p.id)).toEqual(expected);
      const value = JSON.parse(pieces.map((p) => p.text).join('')) as { words: string[]; n: number };
      expect(value.words).toHaveLength(3);
      for (const w of value.words) expect({ w, ok: [...w].length >= 2 && [...w].length <= 6 }).toEqual({ w, ok: true });
      expect(Number.isInteger(value.n)).toBe(true);
      expect(complete).toMatchObject({ completion_reason: 'grammar_complete', finish_reason: 'stop' });
    });
    const bad = await new BitnetClient({ baseUrl: server.url, apiKey: 'client-key' }).stream({ prompt: 'hi', json_schema: { type: 'string', format: 'date' } }).collect().catch((e) => e);
    expect(bad).toMatchObject({ status: 422, param: 'json_schema' });
  });

  it("the server's errors are typed: 422 names the field, 401 without the key, 410 for a stream it no longer keeps", async () => {
    const client = new BitnetClient({ baseUrl: server.url, apiKey: 'client-key' });
    const invalid = await client.stream({ prompt: 'hi', max_tokens: 0 }).collect().catch((e) => e);
    expect(invalid).toBeInstanceOf(BitnetHttpError);
    expect(invalid).toMatchObject({ status: 422, type: 'invalid_request_error', param: 'max_tokens' });
    const unauthorized = await new BitnetClient({ baseUrl: server.url }).stream({ prompt: 'hi' }).collect().catch((e) => e);
    expect(unauthorized).toMatchObject({ status: 401, type: 'authentication_error' });
    const res = await fetch(`${server.url}/v1/stream`, { method: 'POST', headers: { ...AUTH, 'Last-Event-ID': 'no-such-stream:3' } });
    expect(res.status).toBe(410);
    const gone = new BitnetHttpError(res.status, await res.json());
    expect(gone.type).toBe('replay_unavailable');
  });

  it('the playground serves the client browser module it imports', async () => {
    const res = await fetch(`${server.url}/playground/bitnet-client.mjs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await res.text()).toBe(fs.readFileSync(clientModulePath(), 'utf8'));
    const page = await (await fetch(`${server.url}/playground.js`)).text();
    expect(page).toMatch(/from '\.\/playground\/bitnet-client\.mjs'/);
  });
});
