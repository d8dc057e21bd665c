/**
 * Streams that survive, with real processes: bitnet-server replicas (child processes) sharing
 * Debian's redis-server, behind Debian's nginx configured from deploy/nginx.conf. Every finished
 * stream is compared with an uninterrupted run of the same request on a separate engine.
 */
import * as fs from 'node:fs';
import { type GenerationResult, InferenceEngine } from '@bitnet/inference';
import { SeededRandom } from '@bitnet/models';
import Redis from 'ioredis';
import { key } from './stream/redisStreamScripts';
import { TEST_PREFILL_CHUNK, metric, postSse, type SseEventRecord, waitFor, writeTinyModel } from './testing/harness';
import { startNginx } from './testing/nginx';
import { freePort, startRedis } from './testing/redisServer';
import { Replica, resumingStream } from './testing/replicas';

jest.setTimeout(180_000);

let dir: string;
let modelPath: string;
let reference: InferenceEngine;
let redis: Awaited<ReturnType<typeof startRedis>>;
let a: Replica;
let b: Replica;
const LEASE = ['--stream-lease-ms', '1000'];

beforeAll(async () => {
  ({ dir, modelPath } = writeTinyModel());
  redis = await startRedis();
  [a, b] = await Promise.all([Replica.start(modelPath, redis.url, LEASE), Replica.start(modelPath, redis.url, LEASE)]);
  reference = await InferenceEngine.load(modelPath, { maxChunkTokens: TEST_PREFILL_CHUNK });
}, 120_000);

afterAll(async () => {
  for (const r of [a, b]) if (r?.alive) await r.kill();
  await redis?.stop();
  await reference?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Req {
  prompt: string;
  max_tokens: number;
  temperature: number;
  top_k: number;
  top_p: number;
  seed: number;
}
const request = (seed: number, maxTokens = 600): Req => ({ prompt: 'Go on and on', max_tokens: maxTokens, temperature: 0.8, top_k: 40, top_p: 0.95, seed });

function soloOf(r: Req): Promise<GenerationResult> {
  return reference.generate(r.prompt, { maxNewTokens: r.max_tokens, temperature: r.temperature, topK: r.top_k, topP: r.top_p, seed: r.seed });
}

/** The stream's events are complete, once each, and equal to the uninterrupted run. */
function expectSolo(events: SseEventRecord[], solo: GenerationResult): void {
  const sid = events[0].id!.split(':')[0];
  expect(events.map((e) => e.id)).toEqual(events.map((_, i) => `${sid}:${i + 1}`));
  const tokens = events.filter((e) => e.event === 'token').map((e) => JSON.parse(e.data));
  expect(tokens.map((t) => t.token_id)).toEqual(solo.tokenIds);
  expect(tokens.map((t) => t.token).join('')).toBe(solo.text);
  const last = events[events.length - 1];
  // on failure, the diff shows what ended the stream instead (an error event's payload)
  expect({ event: last.event, data: last.event === 'complete' ? undefined : last.data }).toEqual({ event: 'complete', data: undefined });
  expect(JSON.parse(last.data).total_tokens).toBe(solo.tokenIds.length);
}

async function firstEvents(url: string, body: Req, n: number, onN?: () => void): Promise<SseEventRecord[]> {
  const drop = new AbortController();
  const got: SseEventRecord[] = [];
  await postSse(`${url}/v1/stream`, body, {
    signal: drop.signal,
    onEvent: (e) => {
      got.push(e);
      if (got.length === n) {
        onN?.();
        drop.abort();
      }
    },
  });
  return got;
}

beforeEach(async () => {
  await redis.start();
  for (const r of [a, b]) if (!r.alive) await r.restart();
  const ok = async (r: Replica) => ((await (await fetch(`${r.url}/health`)).json()) as { status: string }).status === 'ok';
  await waitFor(async () => (await ok(a)) && (await ok(b)), 15_000, 'both replicas connected to Redis', 100);
});

const revived = (r: Replica) => metric(r.url, 'bitnet_stream_generations_total', { start: 'revived' });

describe('replicas sharing Redis', () => {
  it('a stream started on A, dropped after a few tokens, resumed on B: the ids of the uninterrupted run', async () => {
    const body = request(11);
    const solo = await soloOf(body);
    const before = await revived(b);
    const first = await firstEvents(a.url, body, 5);
    const rest = await postSse(`${b.url}/v1/stream`, undefined, { headers: { 'Last-Event-ID': first[4].id! } });
    expect(rest.status).toBe(200);
    expectSolo([...first, ...rest.events], solo);
    expect(await revived(b)).toBe(before + 1);
    // the stream id is unique across replicas and B answers a replay of the finished stream too
    const replay = await postSse(`${a.url}/v1/stream`, undefined, { headers: { 'Last-Event-ID': rest.events[0].id! } });
    expect(replay.events).toEqual(rest.events.slice(1));
  });

  it('a reconnect to B while A still generates follows the events live, and nothing is generated twice', async () => {
    const body = request(12, 1500);
    const solo = await soloOf(body);
    const beforeA = await revived(a);
    const beforeB = await revived(b);
    // the first connection stays open on A; a second client follows from B
    const events: SseEventRecord[] = [];
    let follow: Promise<Awaited<ReturnType<typeof postSse>>> | undefined;
    const whole = postSse(`${a.url}/v1/stream`, body, {
      onEvent: (e) => {
        events.push(e);
        if (events.length === 3) follow = postSse(`${b.url}/v1/stream`, undefined, { headers: { 'Last-Event-ID': e.id! } });
      },
    });
    await whole;
    const followed = await follow!;
    expectSolo(events, solo);
    expect([...events.slice(0, 3), ...followed.events]).toEqual(events);
    expect(await revived(a)).toBe(beforeA);
    expect(await revived(b)).toBe(beforeB);
  });

  it('the owner killed with SIGKILL mid-generation: a reconnect through nginx completes it on the other replica', async () => {
    const nginx = await startNginx({ upstreams: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`] });
    try {
      const body = request(13, 1500);
      const solo = await soloOf(body);
      const before = await revived(b);
      const first = await firstEvents(a.url, body, 5, () => a.proc.proc.kill('SIGKILL'));
      await a.proc.exited;
      const rest = await postSse(`${nginx.url}/v1/stream`, undefined, { headers: { 'Last-Event-ID': first[first.length - 1].id! } });
      expect(rest.status).toBe(200);
      expectSolo([...first, ...rest.events], solo);
      expect(await revived(b)).toBe(before + 1);
    } finally {
      await nginx.stop();
      if (!a.alive) await a.restart();
    }
  });

  it('the owner stopped with SIGTERM mid-generation: the replica that takes over reads the prompt from its own prompt cache, and the ids are those of the uninterrupted run', async () => {
    // a prompt of more than one 64-position block, which B has seen before (its cache holds it)
    const body = { ...request(14, 400), prompt: 'Go on and on, '.repeat(30) };
    const solo = await soloOf(body);
    const warm = await postSse(`${b.url}/v1/stream`, { ...body, max_tokens: 2 });
    expect(warm.status).toBe(200);
    let stopping: Promise<unknown> | undefined;
    const first = await firstEvents(a.url, body, 5, () => (stopping = a.stop()));
    await stopping;
    const rest = await postSse(`${b.url}/v1/stream`, undefined, { headers: { 'Last-Event-ID': first[first.length - 1].id! } });
    expect(rest.status).toBe(200);
    expectSolo([...first, ...rest.events], solo);
    const complete = JSON.parse(rest.events[rest.events.length - 1].data);
    expect(complete.cached_prompt_tokens).toBeGreaterThanOrEqual(64);
  });

  it('two clients reconnecting to the same orphaned stream on two replicas at once: one generation, the same ids', async () => {
    const c = await Replica.start(modelPath, redis.url, LEASE);
    try {
      const body = request(14, 1200);
      const solo = await soloOf(body);
      const before = (await revived(a)) + (await revived(b));
      const first = await firstEvents(c.url, body, 5, () => c.proc.proc.kill('SIGKILL'));
      await c.proc.exited;
      const last = first[first.length - 1].id!;
      const [ra, rb] = await Promise.all([
        postSse(`${a.url}/v1/stream`, undefined, { headers: { 'Last-Event-ID': last } }),
        postSse(`${b.url}/v1/stream`, undefined, { headers: { 'Last-Event-ID': last } }),
      ]);
      expectSolo([...first, ...ra.events], solo);
      expectSolo([...first, ...rb.events], solo);
      expect((await revived(a)) + (await revived(b))).toBe(before + 1);
    } finally {
      if (c.alive) await c.kill();
    }
  });

  it('a replica that loses its lease stops generating that stream (and its client follows whoever holds it)', async () => {
    const body = request(18, 1500);
    const solo = await soloOf(body);
    const redisClient = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await redisClient.connect();
    try {
      const events: SseEventRecord[] = [];
      let stolen: Promise<unknown> | undefined;
      const run = postSse(`${a.url}/v1/stream`, body, {
        onEvent: (e) => {
          events.push(e);
          // another "replica" takes the lease for 1.5 s: A must stop writing; then the lease is free again
          if (events.length === 5) stolen = redisClient.set(key(e.id!.split(':')[0], 'lease'), 'impostor', 'PX', 1500);
        },
      });
      await run;
      await stolen;
      expectSolo(events, solo);
      const sid = events[0].id!.split(':')[0];
      const ends = () => a.logLines().filter((l) => l.msg === 'stream generation ended' && l.stream === sid);
      await waitFor(() => ends().some((l) => l.end === 'ended'), 10_000, "A's log line of the stream's end", 20);
      const runs = ends();
      // the first run stopped on the lost lease; after the impostor's lease expired, A's own connection revived it
      expect(runs.map((l) => l.end)).toEqual(['lost', 'ended']);
      expect(runs[1].start).toBe('revived');
      expect(Number(runs[0].logged_tokens) + Number(runs[1].logged_tokens)).toBe(solo.tokenIds.length);
    } finally {
      redisClient.disconnect();
    }
  });

  it('the owner died after its last token but before the final event, and that token ends the generation (end of text): the replica that takes over completes the stream instead of resuming past it', async () => {
    // a run that ends at an end-of-generation id before max_tokens
    let body: Req | undefined;
    let solo: GenerationResult | undefined;
    for (let seed = 1; seed < 400 && !body; seed++) {
      const r = request(seed, 120);
      const run = await soloOf(r);
      if (run.finishReason !== 'max_tokens' && run.finishReason !== 'stop_sequence') [body, solo] = [r, run];
    }
    expect(solo).toBeDefined();
    const redisClient = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await redisClient.connect();
    try {
      const whole = await postSse(`${a.url}/v1/stream`, body);
      expectSolo(whole.events, solo!);
      const [sid, last] = whole.events[whole.events.length - 1].id!.split(':');
      // as if A had written every token and died before the 'complete' event (its lease is free: A released it)
      expect(await redisClient.xdel(key(sid, 'events'), `0-${last}`)).toBe(1);
      const before = await revived(b);
      const lastToken = whole.events[whole.events.length - 2];
      const rest = await postSse(`${b.url}/v1/stream`, undefined, { headers: { 'Last-Event-ID': lastToken.id! } });
      expect(rest.events.map((e) => e.event)).toEqual(['complete']);
      const done = JSON.parse(rest.events[0].data);
      expect([done.completion_reason, done.finish_reason, done.total_tokens, done.completed_normally]).toEqual([solo!.finishReason, 'stop', solo!.tokenIds.length, true]);
      expect(rest.events[0].id).toBe(`${sid}:${last}`);
      expect(await revived(b)).toBe(before); // nothing generated: the stream was already at its end
    } finally {
      redisClient.disconnect();
    }
  });

  it('Redis stopped mid-run and restarted: no crash, /health degraded then ok, streams in flight complete', async () => {
    const body = request(15, 1500);
    const solo = await soloOf(body);
    const health = async (r: Replica) => (await (await fetch(`${r.url}/health`)).json()) as { status: string; degraded_reason?: string };
    expect((await health(a)).status).toBe('ok');
    const events: SseEventRecord[] = [];
    let stopped: Promise<void> | undefined;
    const startedAt = Date.now();
    const run = postSse(`${a.url}/v1/stream`, body, {
      onEvent: (e) => {
        events.push(e);
        // SIGTERM; start() brings it back on the same port, empty
        if (events.length === 5) stopped = redis.kill();
      },
    });
    await run;
    await stopped;
    expectSolo(events, solo);
    // the stream was in flight when Redis went away: A logged the outage before the stream's end
    const sid = events[0].id!.split(':')[0];
    const lines = () => a.logLines().filter((l) => Number(l.time) >= startedAt);
    // the replica's stderr reaches this process a little after the events
    await waitFor(() => lines().some((l) => l.msg === 'stream generation ended' && l.stream === sid), 10_000, "A's log line of the stream's end", 20);
    const down = lines().findIndex((l) => l.msg === 'stream store degraded');
    const end = lines().findIndex((l) => l.msg === 'stream generation ended' && l.stream === sid);
    expect(down).toBeGreaterThanOrEqual(0);
    expect(down).toBeLessThan(end);
    await waitFor(async () => (await health(a)).status === 'degraded', 10_000, '/health to say degraded', 50);
    expect((await health(a)).degraded_reason).toMatch(/redis/i);
    // still serving while Redis is down: a new stream, and its replay on the same replica
    const during = await postSse(`${a.url}/v1/stream`, request(16, 40));
    expectSolo(during.events, await soloOf(request(16, 40)));
    const replay = await postSse(`${a.url}/v1/stream`, undefined, { headers: { 'Last-Event-ID': during.events[9].id! } });
    expect(replay.events).toEqual(during.events.slice(10));
    await redis.start();
    await waitFor(async () => (await health(a)).status === 'ok' && (await health(b)).status === 'ok', 15_000, '/health to say ok again', 100);
    expect(a.alive && b.alive).toBe(true);
    // and streams are shared again
    const first = await firstEvents(a.url, request(17), 5);
    const rest = await postSse(`${b.url}/v1/stream`, undefined, { headers: { 'Last-Event-ID': first[4].id! } });
    expectSolo([...first, ...rest.events], await soloOf(request(17)));
  });

  it('Redis down at start: the replica serves (in memory), /health says degraded, and it connects when Redis comes up', async () => {
    const port = await freePort();
    const c = await Replica.start(modelPath, `redis://127.0.0.1:${port}`, LEASE);
    let late: Awaited<ReturnType<typeof startRedis>> | undefined;
    try {
      const health = async () => (await (await fetch(`${c.url}/health`)).json()) as { status: string; degraded_reason?: string };
      expect(await health()).toMatchObject({ status: 'degraded', degraded_reason: expect.stringMatching(/redis/i) });
      expect(await metric(c.url, 'bitnet_stream_store_degraded')).toBe(1);
      // a stream, dropped and revived on the same replica, as without Redis
      const first = await firstEvents(c.url, request(19), 5);
      const rest = await postSse(`${c.url}/v1/stream`, undefined, { headers: { 'Last-Event-ID': first[4].id! } });
      expectSolo([...first, ...rest.events], await soloOf(request(19)));
      late = await startRedis({ port });
      await waitFor(async () => (await health()).status === 'ok', 15_000, '/health to say ok once Redis is up', 100);
      expect(c.alive).toBe(true);
    } finally {
      await c.kill();
      await late?.stop();
    }
  });

  it('2 replicas × 8 clients through nginx for 30 s, random drops, reconnects to either replica, one replica restart: every stream equals its solo run, none generated twice', async () => {
    const nginx = await startNginx({ upstreams: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`] });
    const rng = new SeededRandom(20261204);
    const random = () => rng.next();
    const finished: Array<{ body: Req; events: SseEventRecord[]; connections: number }> = [];
    const t0 = Date.now();
    const DURATION = 30_000;
    try {
      const restart = (async () => {
        await new Promise((r) => setTimeout(r, 12_000));
        expect(await a.stop()).toBe(0); // graceful: its streams are suspended, their clients reconnect elsewhere
        await new Promise((r) => setTimeout(r, 1000));
        await a.restart();
      })();
      const client = async () => {
        while (Date.now() - t0 < DURATION) {
          const body = request(1 + Math.floor(random() * 1e6), 40 + Math.floor(random() * 260));
          const drops = Math.floor(random() * 3);
          const r = await resumingStream(() => nginx.url, body, { dropAfter: (c) => (c < drops ? 1 + Math.floor(random() * 40) : undefined) });
          finished.push({ body, events: r.events, connections: r.connections });
        }
      };
      await Promise.all([restart, ...Array.from({ length: 8 }, client)]);
    } finally {
      await nginx.stop();
    }
    expect(finished.length).toBeGreaterThan(16);
    expect(finished.some((f) => f.connections > 1)).toBe(true);
    // the uninterrupted runs, 16 at a time on the reference engine (batched decoding gives each the ids it gets alone)
    for (let i = 0; i < finished.length; i += 16) {
      const group = finished.slice(i, i + 16);
      const solos = await Promise.all(group.map((f) => soloOf(f.body)));
      group.forEach((f, j) => expectSolo(f.events, solos[j]));
    }
    // each token of each stream was written by exactly one generation: the runs' logged tokens add up
    // to the streams' tokens, and every stream was started once (A's lines include its first life)
    await waitFor(() => a.alive, 1000, 'A to run again');
    const streamIds = new Set(finished.map((f) => f.events[0].id!.split(':')[0]));
    const runLines = () => [...a.logLines(), ...b.logLines()].filter((l) => l.msg === 'stream generation ended');
    // the replicas' stderr reaches this process a little after the events: wait for every stream's last run
    await waitFor(
      () => {
        const ended = new Set(runLines().filter((l) => l.end === 'ended').map((l) => String(l.stream)));
        return [...streamIds].every((id) => ended.has(id));
      },
      10_000,
      'every stream to have its end in a log',
      50,
    );
    const ends = runLines();
    const mine = ends.filter((l) => streamIds.has(String(l.stream)));
    expect(mine.filter((l) => l.start === 'new').length).toBe(finished.length);
    const logged = mine.reduce((n, l) => n + Number(l.logged_tokens), 0);
    const total = finished.reduce((n, f) => n + f.events.filter((e) => e.event === 'token').length, 0);
    expect(logged).toBe(total);
  });
});
