/**
 * The client against a real HTTP server written here (node:http): scripted /v1/stream responses
 * that drop, end early, rate-limit, fail, or trickle out byte by byte; every request is recorded.
 */
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { BitnetClient, BitnetConnectionError, BitnetHttpError, BitnetStreamError, type ReconnectInfo, type StreamPiece, type TokenEvent } from './index';

interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
type Handler = (req: Recorded, res: http.ServerResponse, n: number) => void | Promise<void>;

let server: http.Server;
let base: string;
let handler: Handler;
let requests: Recorded[];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const r = { method: req.method!, url: req.url!, headers: req.headers, body };
      requests.push(r);
      res.socket?.setNoDelay(true);
      void Promise.resolve(handler(r, res, requests.length)).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  requests = [];
  handler = (_r, res) => void res.writeHead(500).end();
});

const STREAM = 'st-1';
/** The generation every scripted stream sends: multi-byte texts included. */
const TOKENS: TokenEvent[] = ['In', ' the', ' begin', 'ning', ' é', '日本', '🙂', ' was', ' the', ' word', '.', ' ∎'].map((token, i) => ({
  token,
  token_id: 100 + i,
  cumulative_time_ms: i * 3,
  position: 5 + i,
}));
const COMPLETE = {
  total_tokens: TOKENS.length,
  total_time_ms: 40,
  tokens_per_second: 300,
  completed_normally: true,
  completion_reason: 'max_tokens',
  prompt_tokens: 5,
  cached_prompt_tokens: 0,
  time_to_first_token_ms: 4,
  finish_reason: 'length',
  seed: 7,
};

/** Event n (1-based) of the scripted stream: tokens, then complete. */
function event(n: number): string {
  const data = n <= TOKENS.length ? JSON.stringify(TOKENS[n - 1]) : JSON.stringify(COMPLETE);
  return `id: ${STREAM}:${n}\nevent: ${n <= TOKENS.length ? 'token' : 'complete'}\ndata: ${data}\n\n`;
}
const ALL = TOKENS.length + 1;

function sseHead(res: http.ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'X-Stream-Id': STREAM });
  res.write(': queued\n\n');
}
const tick = (ms = 2) => new Promise((r) => setTimeout(r, ms));
const seqOf = (id: string | string[] | undefined) => Number(String(id).split(':').pop());

/** Serves events after the request's Last-Event-ID; `plan(n)` says how request n ends. */
function scripted(plan: (n: number) => { upTo: number; end: 'complete' | 'destroy' | 'end' }): Handler {
  return async (req, res, n) => {
    const from = req.headers['last-event-id'] ? seqOf(req.headers['last-event-id']) + 1 : 1;
    const p = plan(n);
    sseHead(res);
    for (let i = from; i <= Math.min(p.upTo, ALL); i++) {
      res.write(event(i));
      await tick(1);
    }
    if (p.end === 'destroy') {
      res.write(event(p.upTo + 1).slice(0, 15)); // a torn event, then the connection is gone
      await tick(5);
      res.socket?.destroy();
    } else res.end();
  };
}

const fast = { maxRetries: 5, initialDelayMs: 5, maxDelayMs: 20 };
const client = (extra: Partial<ConstructorParameters<typeof BitnetClient>[0]> = {}) => new BitnetClient({ baseUrl: base, retry: fast, ...extra });

function expectWhole(pieces: StreamPiece[]): void {
  expect(pieces.map((p) => p.id)).toEqual(TOKENS.map((t) => t.token_id));
  expect(pieces.map((p) => p.text).join('')).toBe(TOKENS.map((t) => t.token).join(''));
  expect(pieces.map((p) => p.index)).toEqual(TOKENS.map((_, i) => i));
  expect(pieces.map((p) => p.position)).toEqual(TOKENS.map((t) => t.position));
  expect(pieces.map((p) => p.eventId)).toEqual(TOKENS.map((_, i) => `${STREAM}:${i + 1}`));
}

describe('BitnetClient.stream', () => {
  it('streams pieces and keeps the complete event, X-Stream-Id and the request as sent', async () => {
    handler = scripted(() => ({ upTo: ALL, end: 'complete' }));
    const s = client({ apiKey: 'k-1', headers: { 'X-Request-Id': 'req-9' } }).stream({ prompt: 'In the beginning', max_tokens: 12, temperature: 0, stop: ['\n'] });
    const { pieces, text, complete } = await s.collect();
    expectWhole(pieces);
    expect(text).toBe(TOKENS.map((t) => t.token).join(''));
    expect(complete).toEqual(COMPLETE);
    expect(s.complete).toEqual(COMPLETE);
    expect(s.streamId).toBe(STREAM);
    expect(s.reconnects).toBe(0);
    expect(requests).toHaveLength(1);
    const [r] = requests;
    expect(r).toMatchObject({ method: 'POST', url: '/v1/stream' });
    expect(JSON.parse(r.body)).toEqual({ prompt: 'In the beginning', max_tokens: 12, temperature: 0, stop: ['\n'] });
    expect(r.headers).toMatchObject({ accept: 'text/event-stream', 'content-type': 'application/json', authorization: 'Bearer k-1', 'x-request-id': 'req-9' });
  });

  it('resumes a dropped connection and a body that ended early with Last-Event-ID: no body, nothing lost, nothing twice', async () => {
    // request 1: events 1..4, a torn 5th, connection destroyed; request 2: events 5..8, then a clean end
    // without a terminal event; request 3: the rest
    handler = scripted((n) => (n === 1 ? { upTo: 4, end: 'destroy' } : n === 2 ? { upTo: 8, end: 'end' } : { upTo: ALL, end: 'complete' }));
    const seen: ReconnectInfo[] = [];
    const s = client().stream({ prompt: 'x' }, { onReconnect: (i) => seen.push(i) });
    const pieces: StreamPiece[] = [];
    for await (const p of s) pieces.push(p);
    expectWhole(pieces);
    expect(s.complete).toEqual(COMPLETE);
    expect(s.reconnects).toBe(2);
    expect(requests).toHaveLength(3);
    expect(requests[1].headers['last-event-id']).toBe(`${STREAM}:4`);
    expect(requests[2].headers['last-event-id']).toBe(`${STREAM}:8`);
    for (const r of requests.slice(1)) {
      expect(r.method).toBe('POST');
      expect(r.body).toBe('');
      expect(r.headers['content-type']).toBeUndefined();
    }
    expect(requests[0].headers['last-event-id']).toBeUndefined();
    // the failure count restarted after the events of request 2
    expect(seen.map((i) => [i.attempt, i.lastEventId])).toEqual([
      [1, `${STREAM}:4`],
      [1, `${STREAM}:8`],
    ]);
  });

  it('a connection lost before the first event resumes from <stream>:0; replayed duplicates are skipped', async () => {
    handler = async (req, res, n) => {
      sseHead(res);
      if (n === 1) {
        await tick(5);
        return void res.socket?.destroy();
      }
      // a careless server that replays from the start: the client drops what it has seen
      expect(req.headers['last-event-id']).toBe(`${STREAM}:0`);
      for (let i = 1; i <= ALL; i++) res.write(event(i));
      res.end();
    };
    const { pieces } = await client().stream({ prompt: 'x' }).collect();
    expectWhole(pieces);
  });

  it('gives up with BitnetConnectionError after maxRetries failures in a row, with the last cause', async () => {
    handler = async (_r, res) => {
      sseHead(res);
      await tick(2);
      res.socket?.destroy();
    };
    const seen: ReconnectInfo[] = [];
    const s = new BitnetClient({ baseUrl: base, retry: { maxRetries: 3, initialDelayMs: 10, maxDelayMs: 25 } }).stream({ prompt: 'x' }, { onReconnect: (i) => seen.push(i) });
    const err = await s.collect().catch((e) => e);
    expect(err).toBeInstanceOf(BitnetConnectionError);
    expect(err.attempts).toBe(4);
    expect(err.cause).toBeDefined();
    expect(requests).toHaveLength(4);
    expect(s.reconnects).toBe(3);
    // exponential backoff, capped
    expect(seen.map((i) => i.delayMs)).toEqual([10, 20, 25]);
  });

  it('a refused connection (nothing listening) is retried, then BitnetConnectionError', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const err = await new BitnetClient({ baseUrl: `http://127.0.0.1:${port}`, retry: { maxRetries: 2, initialDelayMs: 1 } }).stream({ prompt: 'x' }).collect().catch((e) => e);
    expect(err).toBeInstanceOf(BitnetConnectionError);
    expect(err.attempts).toBe(3);
  });

  it('honours Retry-After on a 429, then sends the request again with its body', async () => {
    handler = async (req, res, n) => {
      if (n === 1) {
        res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '1' });
        return void res.end(JSON.stringify({ error: { type: 'rate_limit_exceeded', message: 'too many streams' } }));
      }
      await scripted(() => ({ upTo: ALL, end: 'complete' }))(req, res, n);
    };
    const seen: ReconnectInfo[] = [];
    const t0 = Date.now();
    const { pieces } = await client().stream({ prompt: 'again' }, { onReconnect: (i) => seen.push(i) }).collect();
    const waited = Date.now() - t0;
    expectWhole(pieces);
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(seen).toHaveLength(1);
    expect(seen[0].delayMs).toBe(1000);
    expect(seen[0].cause).toBeInstanceOf(BitnetHttpError);
    expect((seen[0].cause as BitnetHttpError).type).toBe('rate_limit_exceeded');
    expect(requests).toHaveLength(2);
    expect(JSON.parse(requests[1].body)).toEqual({ prompt: 'again' });
    expect(requests[1].headers['last-event-id']).toBeUndefined();
  });

  it("a 4xx JSON error is a BitnetHttpError with the server's type, message and body; no retry", async () => {
    const body = { error: { type: 'invalid_request_error', message: 'max_tokens: must be >= 1, got 0', param: 'max_tokens', code: 'invalid_field' } };
    handler = (_r, res) => void res.writeHead(422, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    const err = await client().stream({ prompt: 'x', max_tokens: 0 }).collect().catch((e) => e);
    expect(err).toBeInstanceOf(BitnetHttpError);
    expect(err).toMatchObject({ status: 422, type: 'invalid_request_error', message: 'max_tokens: must be >= 1, got 0', param: 'max_tokens', body });
    expect(requests).toHaveLength(1);
  });

  it('a 410 on a resume (the server no longer keeps the stream) is a BitnetHttpError', async () => {
    handler = async (req, res, n) => {
      if (n === 1) return scripted(() => ({ upTo: 3, end: 'destroy' }))(req, res, n);
      res.writeHead(410, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { type: 'replay_unavailable', message: 'gone', last_event_id: req.headers['last-event-id'] } }));
    };
    const pieces: StreamPiece[] = [];
    const err = await (async () => {
      for await (const p of client().stream({ prompt: 'x' })) pieces.push(p);
    })().catch((e) => e);
    expect(err).toBeInstanceOf(BitnetHttpError);
    expect(err).toMatchObject({ status: 410, type: 'replay_unavailable' });
    expect(pieces).toHaveLength(3);
    expect(requests).toHaveLength(2);
  });

  it('the SSE error event is a BitnetStreamError; the pieces before it were delivered', async () => {
    handler = async (_r, res) => {
      sseHead(res);
      for (let i = 1; i <= 3; i++) res.write(event(i));
      res.end(`id: ${STREAM}:4\nevent: error\ndata: ${JSON.stringify({ error_type: 'token_timeout', message: 'no token within 30000 ms', tokens_before_error: 3, recovery_hints: ['retry'] })}\n\n`);
    };
    const pieces: StreamPiece[] = [];
    const s = client().stream({ prompt: 'x', detailed_errors: true });
    const err = await (async () => {
      for await (const p of s) pieces.push(p);
    })().catch((e) => e);
    expect(err).toBeInstanceOf(BitnetStreamError);
    expect(err).toMatchObject({ error_type: 'token_timeout', message: 'no token within 30000 ms', tokens_before_error: 3, recovery_hints: ['retry'] });
    expect(pieces.map((p) => p.id)).toEqual([100, 101, 102]);
    expect(s.complete).toBeUndefined();
    expect(requests).toHaveLength(1);
  });

  it('an abort mid-stream ends the iteration promptly with the signal reason and makes no further request', async () => {
    let closed = false;
    handler = async (req, res) => {
      sseHead(res);
      res.on('close', () => (closed = true));
      for (let i = 1; i <= 3; i++) res.write(event(i));
      // then silence: the connection stays open
    };
    const ac = new AbortController();
    const pieces: StreamPiece[] = [];
    let t0 = 0;
    const err = await (async () => {
      for await (const p of client().stream({ prompt: 'x' }, { signal: ac.signal })) {
        pieces.push(p);
        if (pieces.length === 2) setTimeout(() => ((t0 = Date.now()), ac.abort()), 20);
      }
    })().catch((e) => e);
    expect(Date.now() - t0).toBeLessThan(500);
    expect(err).toBe(ac.signal.reason);
    expect(err.name).toBe('AbortError');
    expect(pieces).toHaveLength(3);
    await tick(300);
    expect(requests).toHaveLength(1);
    expect(closed).toBe(true);

    // a reason of one's own is what the iteration rejects with; an aborted signal sends nothing
    const mine = new Error('user left');
    const ac2 = new AbortController();
    ac2.abort(mine);
    expect(await client().stream({ prompt: 'x' }, { signal: ac2.signal }).collect().catch((e) => e)).toBe(mine);
    expect(requests).toHaveLength(1);
  });

  it('an abort during the backoff wait ends it at once', async () => {
    handler = (_r, res) => void res.writeHead(503, { 'Retry-After': '30' }).end();
    const ac = new AbortController();
    const s = client().stream({ prompt: 'x' }, { signal: ac.signal, onReconnect: () => setTimeout(() => ac.abort(), 10) });
    const t0 = Date.now();
    const err = await s.collect().catch((e) => e);
    expect(err.name).toBe('AbortError');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(requests).toHaveLength(1);
  });

  it('break ends the connection', async () => {
    let closed = false;
    handler = async (_r, res) => {
      sseHead(res);
      res.on('close', () => (closed = true));
      for (let i = 1; i <= 5; i++) res.write(event(i));
    };
    for await (const p of client().stream({ prompt: 'x' })) if (p.index === 1) break;
    await tick(200);
    expect(closed).toBe(true);
    expect(requests).toHaveLength(1);
  });

  it('events split across arbitrary network chunks (multi-byte characters and CRLF cut in two) arrive whole', async () => {
    const text = Array.from({ length: ALL }, (_, i) => event(i + 1))
      .join('')
      .replace(/\n/g, '\r\n');
    const bytes = Buffer.from(`: keep-alive\r\n\r\n${text}`, 'utf8');
    // cut points: inside every multi-byte character, between every \r and \n, and at random places
    const cuts = new Set<number>();
    for (let i = 1; i < bytes.length; i++) {
      if ((bytes[i] & 0xc0) === 0x80 || (bytes[i - 1] === 0x0d && bytes[i] === 0x0a) || Math.random() < 0.05) cuts.add(i);
    }
    const points = [0, ...[...cuts].sort((a, b) => a - b), bytes.length];
    handler = async (_r, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'X-Stream-Id': STREAM });
      for (let i = 1; i < points.length; i++) {
        res.write(bytes.subarray(points[i - 1], points[i]));
        if (i % 4 === 0) await tick(1);
      }
      res.end();
    };
    const { pieces, complete } = await client().stream({ prompt: 'x' }).collect();
    expectWhole(pieces);
    expect(complete).toEqual(COMPLETE);
    expect(requests).toHaveLength(1);
  });
});

describe('BitnetClient JSON calls', () => {
  it('health() and models() return the JSON; an error status is a BitnetHttpError', async () => {
    handler = (req, res) => {
      res.setHeader('Content-Type', 'application/json');
      if (req.url === '/health') return void res.end(JSON.stringify({ status: 'ok', model: { id: 'tiny', name: 'tiny' }, streams: { active: 0, queued: 0 } }));
      if (req.url === '/v1/models') return void res.end(JSON.stringify({ object: 'list', data: [{ id: 'tiny', object: 'model', created: 1, owned_by: 'bitnet-ts' }] }));
      res.statusCode = 404;
      res.end(JSON.stringify({ error: { type: 'not_found', message: 'no route' } }));
    };
    const c = new BitnetClient({ baseUrl: `${base}/`, apiKey: 'k' });
    expect((await c.health()).model.id).toBe('tiny');
    expect((await c.models()).data[0].id).toBe('tiny');
    expect(requests.map((r) => [r.method, r.url, r.headers.authorization])).toEqual([
      ['GET', '/health', 'Bearer k'],
      ['GET', '/v1/models', 'Bearer k'],
    ]);
    const err = await new BitnetClient({ baseUrl: `${base}/nowhere` }).models().catch((e) => e);
    expect(err).toBeInstanceOf(BitnetHttpError);
    expect(err).toMatchObject({ status: 404, type: 'not_found' });
  });
});

describe('the browser build', () => {
  it('dist/browser/bitnet-client.mjs is one ES module with no imports that streams from Node too', async () => {
    handler = scripted((n) => (n === 1 ? { upTo: 6, end: 'destroy' } : { upTo: ALL, end: 'complete' }));
    const file = path.resolve(__dirname, '../dist/browser/bitnet-client.mjs');
    const script = `
      import * as m from ${JSON.stringify(file)};
      const s = new m.BitnetClient({ baseUrl: process.argv[1], retry: { initialDelayMs: 5 } }).stream({ prompt: 'x' });
      const r = await s.collect();
      console.log(JSON.stringify({ exports: Object.keys(m).sort(), ids: r.pieces.map((p) => p.id), reconnects: s.reconnects }));`;
    // asynchronously: a synchronous child would block this process's server
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, base], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (d) => (text += d));
      child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}`))));
    });
    const r = JSON.parse(out.trim());
    expect(r.exports).toEqual(['BitnetClient', 'BitnetConnectionError', 'BitnetError', 'BitnetHttpError', 'BitnetStream', 'BitnetStreamError', 'DEFAULT_RETRY', 'SseParser']);
    expect(r.ids).toEqual(TOKENS.map((t) => t.token_id));
    expect(r.reconnects).toBe(1);
  });
});
