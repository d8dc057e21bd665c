/**
 * Test support (not part of the built package): a tiny synthetic model written by the project's
 * writer, a server on an ephemeral port, and an SSE client built on fetch + eventsource-parser.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createParser } from 'eventsource-parser';
import { buildSyntheticModel, smallByteVocab } from '@bitnet/models';
import type { ServerOptions } from '../ServerOptions';
import { type BitnetServer, startServer } from '../server';

/** Prefill chunk used by the test servers and reference engines (small, so prefill takes many steps). */
export const TEST_PREFILL_CHUNK = 4;

/**
 * A BitNet b1.58 model with seeded random ternary weights and a byte-level vocabulary of ~310 tokens
 * (random bytes: its outputs contain multi-byte UTF-8 characters). About 0.5 MB; 2048 context.
 */
export function writeTinyModel(): { dir: string; modelPath: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-server-'));
  const modelPath = path.join(dir, 'tiny.gguf');
  buildSyntheticModel({ arch: 'bitnet-b1.58', quant: 'i2_s', dim: 256, ff: 512, layers: 2, heads: 4, kvHeads: 2, vocab: smallByteVocab(), seed: 9, contextLength: 2048 }).writeFile(modelPath);
  return { dir, modelPath };
}

export function startTestServer(modelPath: string, options: Partial<ServerOptions> = {}): Promise<BitnetServer> {
  return startServer({ model: modelPath, port: 0, host: '127.0.0.1', logLevel: 'silent', prefillChunk: TEST_PREFILL_CHUNK, ...options });
}

export interface SseEventRecord {
  event: string;
  id?: string;
  data: string;
}

export interface SseResult {
  status: number;
  headers: Headers;
  events: SseEventRecord[];
  comments: string[];
  /** The body when the response was not an event stream (a JSON error). */
  body?: unknown;
}

export interface SseOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Called for each event as it arrives. */
  onEvent?: (e: SseEventRecord) => void;
  onComment?: (c: string) => void;
  /** Called once the response head has arrived. */
  onOpen?: (status: number) => void;
}

/** POSTs JSON and reads the SSE response to its end with eventsource-parser. An abort resolves with what arrived. */
export async function postSse(url: string, body: unknown, o: SseOptions = {}): Promise<SseResult> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream', ...o.headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: o.signal,
  });
  o.onOpen?.(res.status);
  const out: SseResult = { status: res.status, headers: res.headers, events: [], comments: [] };
  if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    out.body = await res.json();
    return out;
  }
  const parser = createParser({
    onEvent: (e) => {
      if (o.signal?.aborted) return; // what arrives after the client gave up is not received
      const rec = { event: e.event ?? 'message', id: e.id, data: e.data };
      out.events.push(rec);
      o.onEvent?.(rec);
    },
    onComment: (c) => {
      if (o.signal?.aborted) return;
      out.comments.push(c);
      o.onComment?.(c);
    },
  });
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      parser.feed(decoder.decode(chunk, { stream: true }));
      // stop reading at once when an event handler dropped the connection (do not wait for another chunk)
      if (o.signal?.aborted) break;
    }
  } catch (e) {
    if (!o.signal?.aborted) throw e;
  }
  return out;
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: the assertion will show the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** Reads a metric's value from /metrics (sum over label sets when `labels` is not given). */
export async function metric(baseUrl: string, name: string, labels?: Record<string, string>, headers: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`, { headers })).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (labels && !Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) continue;
    sum += Number(m[3]);
  }
  return sum;
}

/** Polls until `check` holds; returns the milliseconds it took, or throws after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string, everyMs = 5): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await check()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The token events' payloads. */
export function tokenEvents(r: SseResult): Array<{ token: string; token_id: number; cumulative_time_ms: number; position: number }> {
  return r.events.filter((e) => e.event === 'token').map((e) => JSON.parse(e.data));
}

export interface ServerProcess {
  url: string;
  proc: import('node:child_process').ChildProcess;
  stderr: () => string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

/** Starts the real `bitnet-server` bin (built dist) in a child process on an ephemeral port. */
// Servers spawned by a test file; whatever a failed assertion left running is killed after the file.
const spawned = new Set<import('node:child_process').ChildProcess>();
if (typeof afterAll === 'function') {
  afterAll(() => {
    for (const p of spawned) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });
}

export async function spawnServerBin(args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  const { spawn } = await import('node:child_process');
  const bin = path.resolve(__dirname, '../../bin/bitnet-server.js');
  const proc = spawn(process.execPath, [bin, ...args], { env: { ...process.env, BITNET_PORT: '0', BITNET_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  spawned.add(proc);
  proc.on('exit', () => spawned.delete(proc));
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    exited.then((code) => reject(new Error(`bitnet-server exited (${code}) before listening: ${err}`)));
  });
  return { url, proc, stderr: () => err, exited };
}
