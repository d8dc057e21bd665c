/**
 * The parts built on the libraries Node operators know: /metrics (prom-client), logs (pino and
 * pino-http request ids, the engine's records in the same stream), strict request fields (zod),
 * /openapi.json (checked by an OpenAPI 3.1 validator) and CORS.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { logger as engineLogger } from '@bitnet/inference';
import { createLogger } from './Logger';
import { parseServerOptions } from './ServerOptions';
import { type BitnetServer, startServer } from './server';
import { postJson, postSse, startTestServer, writeTinyModel } from './testing/harness';

let dir: string;
let modelPath: string;
let server: BitnetServer;
let url: string;
const logLines: string[] = [];

beforeAll(async () => {
  ({ dir, modelPath } = writeTinyModel());
  const log = createLogger('debug', { write: (s: string) => void logLines.push(...s.split('\n').filter((l) => l !== '')) });
  // the logger is given as an argument (startServer's second parameter)
  server = await startServer({ model: modelPath, port: 0, host: '127.0.0.1', prefillChunk: 4, corsOrigins: ['http://allowed.example'] }, log);
  url = server.url;
});

afterAll(async () => {
  await server?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Prometheus text format 0.0.4, line by line; returns the families by name with their TYPE and HELP. */
function parsePrometheus(text: string): Map<string, { type: string; help: string; samples: number }> {
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
  const sample = new RegExp(`^(${NAME})(\\{(?:${LABEL}(?:,${LABEL})*,?)?\\})? (\\S+)( -?\\d+)?$`);
  const families = new Map<string, { type: string; help: string; samples: number }>();
  const family = (name: string) => {
    if (!families.has(name)) families.set(name, { type: '', help: '', samples: 0 });
    return families.get(name)!;
  };
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line);
    if (m) {
      expect(family(m[1]).help).toBe(''); // one HELP per family
      family(m[1]).help = m[2];
      continue;
    }
    m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (m) {
      expect(family(m[1]).type).toBe('');
      family(m[1]).type = m[2];
      continue;
    }
    expect(line.startsWith('#') ? 'a comment other than HELP/TYPE' : line).toMatch(sample);
    const [, name, , value] = sample.exec(line)!;
    expect(['+Inf', '-Inf', 'NaN'].includes(value) || !Number.isNaN(Number(value))).toBe(true);
    // a sample belongs to a family declared before it (histograms and summaries: _bucket, _sum, _count)
    const owner = families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    const f = families.get(owner);
    expect({ line, declared: !!f?.type }).toEqual({ line, declared: true });
    if (owner !== name) expect(['histogram', 'summary']).toContain(f!.type);
    f!.samples++;
  }
  return families;
}

describe('/metrics through prom-client', () => {
  it('is valid Prometheus text with the same names, types and help as before, plus Node process metrics', async () => {
    await postSse(`${url}/v1/stream`, { prompt: 'count me', max_tokens: 3, seed: 2 });
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const families = parsePrometheus(await res.text());
    const expected: Record<string, [string, string]> = {
      bitnet_http_requests_total: ['counter', 'HTTP requests by route and status code'],
      bitnet_generated_tokens_total: ['counter', 'Tokens generated'],
      bitnet_prompt_tokens_total: ['counter', 'Prompt tokens processed'],
      bitnet_streams_total: ['counter', 'Generations by how they ended (completion_reason)'],
      bitnet_cancellations_total: ['counter', 'Generations stopped early, by reason'],
      bitnet_errors_total: ['counter', 'Errors by type (HTTP errors and generation errors)'],
      bitnet_rejected_total: ['counter', 'Requests refused with 429 because the queue was full'],
      bitnet_time_to_first_token_seconds: ['histogram', 'Time from admission to the first generated token'],
      bitnet_request_duration_seconds: ['histogram', 'Time from the request to the end of its generation'],
      bitnet_queue_wait_seconds: ['histogram', 'Time a request waited for a generation slot'],
      bitnet_streams_active: ['gauge', 'Generations holding a slot'],
      bitnet_streams_queued: ['gauge', 'Requests waiting for a slot'],
      bitnet_engine_sequences: ['gauge', 'Sequences the engine is still running (a cancelled one leaves within one step)'],
      bitnet_decode_batch_mean: ['gauge', 'Mean sequences per batched decode step since start (continuous batching)'],
      bitnet_decode_batch_max: ['gauge', 'Largest batched decode step since start'],
      bitnet_uptime_seconds: ['gauge', 'Seconds since the server started'],
      bitnet_event_loop_delay_seconds: ['summary', 'Main-thread event-loop delay since start'],
    };
    for (const [name, [type, help]] of Object.entries(expected)) expect({ name, ...families.get(name) }).toMatchObject({ name, type, help });
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_version_info']) {
      expect({ name, samples: families.get(name)?.samples ?? 0 }).toEqual({ name, samples: expect.any(Number) });
      expect(families.get(name)!.samples).toBeGreaterThan(0);
    }
    expect(families.get('bitnet_event_loop_delay_seconds')!.samples).toBe(4);
  });

  it('two servers in one process keep separate registries (and the engine log stream returns to the first)', async () => {
    const other = await startTestServer(modelPath);
    try {
      const text = await (await fetch(`${other.url}/metrics`)).text();
      expect(text).toMatch(/^bitnet_generated_tokens_total 0$/m);
      expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^bitnet_generated_tokens_total [1-9]/m);
    } finally {
      await other.close();
    }
    engineLogger('bitnet_inference::libs_spec').warn('after the second server stopped');
    expect(logLines.some((l) => l.includes('after the second server stopped'))).toBe(true);
  });
});

describe('logs through pino', () => {
  const records = () => logLines.map((l) => JSON.parse(l) as Record<string, any>);

  it('JSON lines; each request has an id (the client\'s X-Request-Id or a new one), echoed in the response', async () => {
    const given = await fetch(`${url}/health`, { headers: { 'X-Request-Id': 'trace-me-42' } });
    expect(given.headers.get('x-request-id')).toBe('trace-me-42');
    const fresh = await fetch(`${url}/v1/models`);
    const id = fresh.headers.get('x-request-id')!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const bad = await fetch(`${url}/health`, { headers: { 'X-Request-Id': 'x'.repeat(500) } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/); // not taken: too long
    const all = records(); // every line parses as JSON
    expect(all.find((r) => r.msg === 'model loaded')).toMatchObject({ level: 30, name: 'bitnet_server', arch: 'bitnet-b1.58' });
    expect(all.find((r) => r.req?.id === 'trace-me-42')).toMatchObject({ level: 20, req: { method: 'GET', url: '/health' }, res: { statusCode: 200 } });
    expect(all.find((r) => r.req?.id === id)).toMatchObject({ req: { url: '/v1/models' } });
    expect(JSON.stringify(all)).not.toMatch(/authorization/i);
  });

  it("the engine's BITNET_LOG records go to the same stream, with their target", () => {
    engineLogger('bitnet_inference::libs_spec').warn('from the engine', { n: 7 });
    expect(records().find((r) => r.msg === 'from the engine')).toMatchObject({ level: 40, name: 'bitnet_server', target: 'bitnet_inference::libs_spec', n: 7 });
  });
});

describe('strict request fields', () => {
  it('an unknown field is a 422 naming it and the closest known one, on every POST route', async () => {
    const cases: Array<[string, Record<string, unknown>, string, string]> = [
      ['/v1/stream', { prompt: 'hi', max_token: 3 }, 'max_token', 'max_tokens'],
      ['/v1/stream', { promt: 'hi' }, 'promt', 'prompt'],
      ['/v1/stream', { prompt: 'hi', user: 'me' }, 'user', 'seed'],
      ['/v1/completions', { prompt: 'hi', stops: ['x'] }, 'stops', 'stop'],
      ['/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], temprature: 0.5 }, 'temprature', 'temperature'],
    ];
    for (const [route, body, field, closest] of cases) {
      const r = await postJson(`${url}${route}`, body);
      expect({ route, status: r.status, error: r.body.error }).toEqual({
        route,
        status: 422,
        error: { type: 'invalid_request_error', code: 'invalid_field', param: field, message: `${field}: is not a known field; did you mean '${closest}'?`, rule: expect.any(String) },
      });
    }
  });

  it('user and stream_options (sent by OpenAI clients) are accepted on the OpenAI routes', async () => {
    const r = await postJson(`${url}/v1/chat/completions`, { model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, user: 'someone', stream_options: null });
    expect(r.status).toBe(200);
    const c = await postJson(`${url}/v1/completions`, { prompt: 'hi', max_tokens: 2, user: 'someone', stream: false });
    expect(c.status).toBe(200);
  });

  it('the old rules keep their messages', async () => {
    const cases: Array<[string, Record<string, unknown>, string, string]> = [
      ['/v1/completions', { prompt: ['a', 'b'] }, 'prompt', 'prompt: must be a string or an array of exactly one string'],
      ['/v1/completions', { prompt: 5 }, 'prompt', 'prompt: must be a string'],
      ['/v1/completions', { prompt: [''] }, 'prompt', 'prompt: must not be empty'],
      ['/v1/completions', { prompt: 'x', temperature: 3 }, 'temperature', 'temperature: must be <= 2, got 3'],
      ['/v1/completions', { prompt: 'x', presence_penalty: 3 }, 'presence_penalty', 'presence_penalty: must be <= 2, got 3'],
      ['/v1/completions', { prompt: 'x', echo: true }, 'echo', 'echo: is not supported'],
      ['/v1/chat/completions', { messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role', "messages[0].role: must be 'system', 'developer', 'user' or 'assistant'"],
      ['/v1/chat/completions', { messages: ['x'] }, 'messages[0]', 'messages[0]: must be an object'],
      ['/v1/chat/completions', { messages: [{ role: 'user', content: [{ type: 'image' }] }] }, 'messages[0].content[0]', "messages[0].content[0]: only { type: 'text', text } parts are supported"],
      ['/v1/chat/completions', { messages: [{ role: 'user', content: 3 }] }, 'messages[0].content', 'messages[0].content: must be a string or an array of text parts'],
      ['/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], stream_options: 1 }, 'stream_options', 'stream_options: must be an object'],
      ['/v1/stream', { prompt: 'x', seed: 2 ** 33 }, 'seed', `seed: must be <= ${0xffffffff}, got ${2 ** 33}`],
    ];
    for (const [route, body, param, message] of cases) {
      const r = await postJson(`${url}${route}`, body);
      expect({ route, body, status: r.status, param: r.body.error?.param, message: r.body.error?.message }).toEqual({ route, body, status: 422, param, message });
    }
    const notObject = await postJson(`${url}/v1/stream`, '[1]');
    expect(notObject.status).toBe(400);
    expect(notObject.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_body' });
  });
});

describe('GET /openapi.json', () => {
  it('is valid OpenAPI 3.1 (checked by @seriousme/openapi-schema-validator) and lists every route with its request schema', async () => {
    const res = await fetch(`${url}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as any;
    expect(doc.openapi).toBe('3.1.0');
    const file = path.join(dir, 'openapi.json');
    fs.writeFileSync(file, JSON.stringify(doc));
    // the validator is an ES module: run it in a child process
    const script = `import { Validator } from '@seriousme/openapi-schema-validator';
      const v = new Validator();
      const r = await v.validate(${JSON.stringify(file)});
      console.log(JSON.stringify({ valid: r.valid, version: v.version, errors: r.errors }));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: path.resolve(__dirname, '..'), encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ valid: true, version: '3.1', errors: undefined });

    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    expect(routes.sort()).toEqual(
      [
        'GET /',
        'POST /v1/stream',
        'POST /v1/completions',
        'POST /v1/chat/completions',
        'GET /v1/models',
        'GET /health',
        'GET /health/live',
        'GET /health/ready',
        'GET /metrics',
        'GET /openapi.json',
      ].sort(),
    );
    const schemaOf = (p: string) => {
      const ref = doc.paths[p].post.requestBody.content['application/json'].schema.$ref as string;
      return doc.components.schemas[ref.split('/').pop()!];
    };
    const stream = schemaOf('/v1/stream');
    expect(stream).toMatchObject({ type: 'object', additionalProperties: false, required: ['prompt'] });
    expect(Object.keys(stream.properties).sort()).toEqual(
      ['prompt', 'max_tokens', 'temperature', 'top_k', 'top_p', 'min_p', 'repetition_penalty', 'presence_penalty', 'frequency_penalty', 'logit_bias', 'seed', 'stop', 'buffer_size', 'flush_interval_ms', 'detailed_errors', 'logprobs', 'top_logprobs', 'json_schema', 'grammar'].sort(),
    );
    expect(JSON.stringify(stream.properties.json_schema)).toMatch(/grammar_complete/);
    // response_format: text, json_object, json_schema { name, schema, strict }
    const formats = schemaOf('/v1/chat/completions').properties.response_format.anyOf.flatMap((s: any) => s.oneOf ?? s.anyOf ?? [s]);
    const types = formats.map((f: any) => f.properties?.type?.const).filter(Boolean);
    expect(types.sort()).toEqual(['json_object', 'json_schema', 'text']);
    const jsonSchemaFormat = formats.find((f: any) => f.properties?.type?.const === 'json_schema');
    expect(jsonSchemaFormat.properties.json_schema).toMatchObject({ required: ['name'], properties: { name: expect.any(Object), schema: expect.any(Object), strict: expect.any(Object) } });
    expect(stream.properties.max_tokens.anyOf).toContainEqual(expect.objectContaining({ type: 'integer', minimum: 1 }));
    expect(schemaOf('/v1/completions')).toMatchObject({ additionalProperties: false, required: ['prompt'], properties: { user: expect.any(Object), stream_options: expect.any(Object) } });
    expect(schemaOf('/v1/chat/completions')).toMatchObject({ additionalProperties: false, required: ['messages'], properties: { messages: { type: 'array', minItems: 1 } } });
  });
});

describe('CORS', () => {
  const preflight = (base: string, origin: string) =>
    fetch(`${base}/v1/stream`, {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,last-event-id,authorization,x-api-key' },
    });
  const corsHeaders = (h: Headers) => [...h.keys()].filter((k) => k.startsWith('access-control-'));

  it('a preflight from an allowed origin gets 204 with the methods and headers; other origins get no CORS header', async () => {
    const ok = await preflight(url, 'http://allowed.example');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://allowed.example');
    expect(ok.headers.get('access-control-allow-methods')).toMatch(/POST/);
    const allowedHeaders = ok.headers.get('access-control-allow-headers')!.toLowerCase().split(',');
    for (const h of ['content-type', 'authorization', 'x-api-key', 'last-event-id']) expect(allowedHeaders).toContain(h);
    expect(ok.headers.get('access-control-expose-headers')).toMatch(/X-Stream-Id/);

    const other = await preflight(url, 'http://elsewhere.example');
    expect(corsHeaders(other.headers)).toEqual([]);

    // the request itself: the page may read X-Stream-Id
    const r = await postSse(`${url}/v1/stream`, { prompt: 'hi', max_tokens: 2, seed: 1 }, { headers: { Origin: 'http://allowed.example' } });
    expect(r.headers.get('access-control-allow-origin')).toBe('http://allowed.example');
    expect(r.headers.get('access-control-expose-headers')).toMatch(/X-Stream-Id/);
    const r2 = await postSse(`${url}/v1/stream`, { prompt: 'hi', max_tokens: 2, seed: 1 }, { headers: { Origin: 'http://elsewhere.example' } });
    expect(corsHeaders(r2.headers)).toEqual([]);
  });

  it('off by default', async () => {
    const plain = await startTestServer(modelPath);
    try {
      expect(corsHeaders((await preflight(plain.url, 'http://allowed.example')).headers)).toEqual([]);
    } finally {
      await plain.close();
    }
  });

  it('--cors-origin / BITNET_CORS_ORIGIN: repeatable, comma-separated, checked', () => {
    expect(parseServerOptions([], {}).corsOrigins).toEqual([]);
    expect(parseServerOptions(['--cors-origin', 'http://a.example', '--cors-origin', 'https://b.example:8443,http://c.example'], {}).corsOrigins).toEqual([
      'http://a.example',
      'https://b.example:8443',
      'http://c.example',
    ]);
    expect(parseServerOptions([], { BITNET_CORS_ORIGIN: 'http://a.example, http://b.example' }).corsOrigins).toEqual(['http://a.example', 'http://b.example']);
    expect(parseServerOptions(['--cors-origin', '*'], { BITNET_CORS_ORIGIN: 'http://a.example' }).corsOrigins).toEqual(['*']);
    expect(() => parseServerOptions(['--cors-origin', 'http://a.example/path'], {})).toThrow(/--cors-origin: "http:\/\/a.example\/path" is not an origin/);
    expect(() => parseServerOptions([], { BITNET_CORS_ORIGIN: 'nope' })).toThrow(/BITNET_CORS_ORIGIN/);
  });
});
