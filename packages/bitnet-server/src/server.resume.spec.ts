/**
 * One server, no Redis: a dropped /v1/stream connection cancels the generation at once, and a
 * reconnect with Last-Event-ID revives it — the server prefills prompt + the ids already sent,
 * restores the sampler and continues — so the client gets exactly the ids and text of an
 * uninterrupted run (sampling at temperature 0.8 with top-k and top-p, a stop string, a multi-byte
 * character split across the drop point). Compared with a separate engine on the same file.
 */
import * as fs from 'node:fs';
import { type GenerationResult, InferenceEngine } from '@bitnet/inference';
import type { BitnetServer } from './server';
import { type SseEventRecord, TEST_PREFILL_CHUNK, metric, postSse, startTestServer, waitFor, writeTinyModel } from './testing/harness';

let dir: string;
let modelPath: string;
let server: BitnetServer;
let reference: InferenceEngine;

const MULTIBYTE = /^[^\x00-\x7f\ufffd]/u;
const PROMPT = 'Go on and on';
const SAMPLING = { temperature: 0.8, topK: 40, topP: 0.95 };
const MAX = 1200;

/** The request (wire form) and its uninterrupted run. */
let body: Record<string, unknown>;
let solo: GenerationResult;

beforeAll(async () => {
  ({ dir, modelPath } = writeTinyModel());
  server = await startTestServer(modelPath, { maxConcurrent: 4, keepAliveMs: 100 });
  reference = await InferenceEngine.load(modelPath, { maxChunkTokens: TEST_PREFILL_CHUNK });
  // a seed whose 5th generated token only begins a multi-byte character that the 6th completes
  // (a client that drops after 5 token events holds half a character's bytes, as ids), and whose run
  // is long (no end of text before 900 tokens), so the generation is still running when the drop is seen
  let seed = 1;
  let free: GenerationResult | undefined;
  for (; seed < 3000; seed++) {
    const head = await reference.generate(PROMPT, { ...SAMPLING, seed, maxNewTokens: 6 });
    if (!(head.pieces.length === 6 && head.pieces[4].text === '' && MULTIBYTE.test(head.pieces[5].text))) continue;
    free = await reference.generate(PROMPT, { ...SAMPLING, seed, maxNewTokens: MAX });
    if (free.pieces.length > 900) break;
  }
  expect(seed).toBeLessThan(3000);
  // a stop string taken from late in the uninterrupted output (first occurring there), so the run ends on it
  const run = free!;
  let stop = '';
  for (let j = 800, at = 0; j < run.pieces.length - 2 && !stop; j++) {
    at = run.pieces.slice(0, j).reduce((n, p) => n + p.text.length, 0);
    const s = run.pieces[j].text + run.pieces[j + 1].text;
    if (s.length >= 2 && run.text.indexOf(s) === at) stop = s;
  }
  expect(stop).not.toBe('');
  solo = await reference.generate(PROMPT, { ...SAMPLING, seed, maxNewTokens: MAX, stopSequences: [stop] });
  expect(solo.finishReason).toBe('stop_sequence');
  body = { prompt: PROMPT, max_tokens: MAX, temperature: SAMPLING.temperature, top_k: SAMPLING.topK, top_p: SAMPLING.topP, seed, stop: [stop] };
}, 120_000);

afterAll(async () => {
  await server?.close();
  await reference?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Starts the request, drops the connection after `n` token events, returns them. */
async function dropAfter(n: number): Promise<SseEventRecord[]> {
  const drop = new AbortController();
  const first: SseEventRecord[] = [];
  await postSse(`${server.url}/v1/stream`, body, {
    signal: drop.signal,
    onEvent: (e) => {
      first.push(e);
      if (first.length === n) drop.abort();
    },
  });
  return first;
}

function check(all: SseEventRecord[]): void {
  const sid = all[0].id!.split(':')[0];
  expect(all.map((e) => e.id)).toEqual(all.map((_, i) => `${sid}:${i + 1}`)); // nothing missed, nothing twice
  const tokens = all.filter((e) => e.event === 'token').map((e) => JSON.parse(e.data));
  expect(tokens.map((t) => t.token_id)).toEqual(solo.tokenIds);
  expect(tokens.map((t) => t.token).join('')).toBe(solo.text);
  expect(tokens.map((t) => ({ id: t.token_id, text: t.token }))).toEqual(solo.pieces);
  expect(tokens.map((t) => t.position)).toEqual(solo.tokenIds.map((_, i) => solo.promptIds.length + i));
  const last = all[all.length - 1];
  expect(last.event).toBe('complete');
  expect(JSON.parse(last.data)).toMatchObject({ completion_reason: 'stop_sequence', total_tokens: solo.tokenIds.length, completed_normally: true });
}

describe('resume revives a dropped stream', () => {
  const variants: Array<[string, Record<string, string>, unknown]> = [
    ['no body, no Content-Type', {}, undefined],
    ['no body with Content-Type: application/json', { 'Content-Type': 'application/json' }, undefined],
    ['the request body again', {}, 'body'],
  ];
  it.each(variants)('after 5 tokens, reconnect with Last-Event-ID (%s): the ids and text of the uninterrupted run', async (_name, headers, withBody) => {
    const revivedBefore = await metric(server.url, 'bitnet_stream_generations_total', { start: 'revived' });
    const first = await dropAfter(5);
    expect(first).toHaveLength(5);
    const part = first.map((e) => JSON.parse(e.data));
    expect(part[4].token).toBe(''); // the 5th token only began a character
    // the drop cancelled the generation at once (its slot is free) — it did not run on to the end
    await waitFor(async () => (await metric(server.url, 'bitnet_streams_active')) === 0, 10_000, 'the dropped stream to stop');
    const cancelled = await metric(server.url, 'bitnet_streams_total', { completion_reason: 'client_disconnected' });
    expect(cancelled).toBeGreaterThan(0);
    const init = withBody === 'body' ? body : undefined;
    const noContentType = withBody === undefined && !('Content-Type' in headers);
    const rest = await postSse(`${server.url}/v1/stream`, init, { headers: { 'Last-Event-ID': first[4].id!, ...(noContentType ? { 'Content-Type': '' } : {}), ...headers } });
    expect(rest.status).toBe(200);
    check([...first, ...rest.events]);
    // the rest was generated by a revived generation on this server
    expect(await metric(server.url, 'bitnet_stream_generations_total', { start: 'revived' })).toBe(revivedBefore + 1);
  });

  it('a reconnect that arrives while the dropped generation is still stopping waits for it and revives it once', async () => {
    const revivedBefore = await metric(server.url, 'bitnet_stream_generations_total', { start: 'revived' });
    const first = await dropAfter(5);
    // at once, and twice in parallel: one revival, both get the same events
    const [a, b] = await Promise.all([
      postSse(`${server.url}/v1/stream`, undefined, { headers: { 'Last-Event-ID': first[4].id! } }),
      postSse(`${server.url}/v1/stream`, undefined, { headers: { 'Last-Event-ID': first[4].id! } }),
    ]);
    check([...first, ...a.events]);
    check([...first, ...b.events]);
    expect(await metric(server.url, 'bitnet_stream_generations_total', { start: 'revived' })).toBe(revivedBefore + 1);
  });

  it('a finished stream replays and is never generated again', async () => {
    const full = await postSse(`${server.url}/v1/stream`, body);
    check(full.events);
    const revivedBefore = await metric(server.url, 'bitnet_stream_generations_total', { start: 'revived' });
    const again = await postSse(`${server.url}/v1/stream`, undefined, { headers: { 'Last-Event-ID': full.events[9].id! } });
    expect(again.events).toEqual(full.events.slice(10));
    expect(await metric(server.url, 'bitnet_stream_generations_total', { start: 'revived' })).toBe(revivedBefore);
  });
});
