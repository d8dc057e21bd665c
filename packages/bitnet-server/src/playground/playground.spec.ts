/**
 * The playground in a real browser: Debian's headless Chromium (/usr/bin/chromium) driven by
 * playwright-core (which never downloads a browser), against a real server on a small synthetic
 * model. The page's token ids are compared with a direct /v1/stream call with the same parameters.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type BrowserContext, type Page, type Request, chromium } from 'playwright-core';
import { defaultModelPath } from '@bitnet/inference';
import { parseServerOptions } from '../ServerOptions';
import type { BitnetServer } from '../server';
import { startDropProxy } from '../testing/dropProxy';
import { postSse, startTestServer, tokenEvents, waitFor, writeTinyModel } from '../testing/harness';

const CHROMIUM = process.env.BITNET_CHROMIUM ?? '/usr/bin/chromium';
const REPO = path.resolve(__dirname, '../../../..');
/** Screenshots of each run (git-ignored); docs/playground.png is rewritten with BITNET_UPDATE_SCREENSHOT=1. */
const ARTIFACTS = path.join(REPO, 'tmp', 'playground-artifacts');
const WAIT = 60_000;

// the page functions below run in the browser; this spec is compiled without the DOM library, so the
// few browser names they use are declared here
interface PageElement {
  textContent: string | null;
  querySelectorAll(s: string): { length: number };
  click(): void;
}
declare const document: { querySelector(s: string): PageElement | null; querySelectorAll(s: string): { length: number } };
declare class MutationObserver {
  constructor(callback: () => void);
  observe(target: PageElement, options: { childList?: boolean; subtree?: boolean }): void;
  disconnect(): void;
}

let dir: string;
let modelPath: string;
let server: BitnetServer;
let context: BrowserContext;
let profile: string;
let page: Page;

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium), or point BITNET_CHROMIUM at a Chromium`);
  ({ dir, modelPath } = writeTinyModel());
  server = await startTestServer(modelPath, { maxConcurrent: 2, keepAliveMs: 200 });
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1100, height: 680 },
    deviceScaleFactor: 1,
    timeout: WAIT,
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(WAIT);
}, 180_000);

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await server?.close();
  fs.rmSync(dir, { recursive: true, force: true });
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

const byId = (id: string) => `[data-testid="${id}"]`;

/** Loads the page and waits for its model card (the /health call answered). */
async function open(base = server.url): Promise<void> {
  await page.goto(`${base}/`);
  await page.locator(byId('model-card')).getByText('bitnet-b1.58', { exact: true }).first().waitFor();
}

/** Fills the fields a test sets; the others keep their (empty or default) values. */
async function fill(values: { prompt: string; maxTokens: number; temperature: string; seed: string }): Promise<void> {
  await page.fill(byId('prompt'), values.prompt);
  await page.fill(byId('max-tokens'), String(values.maxTokens));
  await page.fill(byId('temperature'), values.temperature);
  await page.fill(byId('seed'), values.seed);
}

/** Clicks Generate and waits until the page shows a finish reason; returns it. */
async function generate(): Promise<string> {
  await page.click(byId('generate'));
  await page.waitForFunction((sel) => document.querySelector(sel)!.textContent !== '', byId('status'), { timeout: WAIT });
  return (await page.textContent(byId('status')))!;
}

const pageTokenIds = () => page.$$eval(`${byId('output')} [data-token-id]`, (els) => els.map((e) => Number(e.getAttribute('data-token-id'))));

async function directIds(base: string, body: Record<string, unknown>): Promise<{ ids: number[]; finish: string }> {
  const r = await postSse(`${base}/v1/stream`, body);
  const last = r.events[r.events.length - 1];
  expect(last.event).toBe('complete');
  return { ids: tokenEvents(r).map((t) => t.token_id), finish: JSON.parse(last.data).finish_reason };
}

async function activeStreams(): Promise<number> {
  return ((await (await fetch(`${server.url}/health`)).json()) as { streams: { active: number } }).streams.active;
}

describe('playground in headless Chromium', () => {
  // the page as each test left it, for whoever reads a failure
  afterEach(async () => {
    if (!page || page.isClosed()) return;
    const name = (expect.getState().currentTestName ?? 'test').replace(/[^a-z0-9]+/gi, '-').slice(0, 80);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true }).catch(() => undefined);
  });

  it('serves the page offline and shows the same token ids as a direct /v1/stream call', async () => {
    const offsite: string[] = [];
    const watch = (r: Request) => {
      if (!r.url().startsWith(server.url)) offsite.push(r.url());
    };
    page.on('request', watch);
    await open();
    const params = { prompt: 'Through the storm', maxTokens: 48, temperature: '0.8', seed: '42' };
    await fill(params);
    const status = await generate();
    const direct = await directIds(server.url, { prompt: params.prompt, max_tokens: 48, temperature: 0.8, seed: 42 });
    expect(status).toBe(direct.finish);
    expect(await pageTokenIds()).toEqual(direct.ids);
    expect(direct.ids.length).toBeGreaterThan(0);
    // hover text names id and position; the toggle writes ids inline
    const first = page.locator(`${byId('output')} [data-token-id]`).first();
    expect(await first.getAttribute('title')).toMatch(new RegExp(`id ${direct.ids[0]} .*position \\d+`));
    await page.check(byId('show-ids'));
    expect(await page.getAttribute(byId('output'), 'class')).toContain('show-ids');
    expect(await page.textContent(byId('tps'))).toMatch(/^\d+(\.\d+)?$/);
    expect(offsite).toEqual([]); // nothing fetched from anywhere else
    page.off('request', watch);

    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'playground.png'), fullPage: true });
    await page.uncheck(byId('show-ids'));
  });

  // the README's picture: the bundled KJV model, whose text reads as text (BITNET_UPDATE_SCREENSHOT=1)
  (process.env.BITNET_UPDATE_SCREENSHOT === '1' ? it : it.skip)('writes docs/playground.png', async () => {
    const kjv = await startTestServer(defaultModelPath());
    try {
      await open(kjv.url);
      await fill({ prompt: 'And God said', maxTokens: 40, temperature: '0.7', seed: '7' });
      await page.check(byId('show-ids'));
      await generate();
      const docs = path.join(REPO, 'docs', 'playground.png');
      fs.mkdirSync(path.dirname(docs), { recursive: true });
      await page.screenshot({ path: docs });
      expect(fs.statSync(docs).size).toBeLessThan(150 * 1024);
      await page.uncheck(byId('show-ids'));
    } finally {
      await kjv.close();
    }
  });

  it('Stop ends the stream mid-way and frees the server slot', async () => {
    await open();
    await fill({ prompt: 'Go on and on', maxTokens: 2000, temperature: '0.8', seed: '3' });
    // an array of exactly 1000 integers: the stream cannot end by itself before ~2000 tokens, so Stop
    // always comes first however fast the tiny model runs (left alone it may reach end-of-text early)
    await page.fill(byId('json-schema'), JSON.stringify({ type: 'array', items: { type: 'integer' }, minItems: 1000, maxItems: 1000 }));
    // Stop is clicked inside the page as soon as the third token is shown (a round trip through the test
    // process per step let the tiny model, ~2000 tokens in a few hundred ms, finish first under load)
    const armed = page.evaluate(
      ({ output, stop, status }) =>
        new Promise<string>((resolve) => {
          const out = document.querySelector(output)!;
          const observer = new MutationObserver(() => {
            if (out.querySelectorAll('[data-token-id]').length < 3) return;
            observer.disconnect();
            const before = document.querySelector(status)!.textContent ?? '';
            document.querySelector(stop)!.click();
            resolve(before);
          });
          observer.observe(out, { childList: true, subtree: true });
        }),
      { output: byId('output'), stop: byId('stop'), status: byId('status') },
    );
    await page.click(byId('generate'));
    expect(await armed).toBe(''); // still running when Stop was clicked
    await page.waitForFunction((sel) => document.querySelector(sel)!.textContent !== '', byId('status'));
    expect(await page.textContent(byId('status'))).toBe('cancelled');
    expect((await pageTokenIds()).length).toBeLessThan(2000);
    await waitFor(async () => (await activeStreams()) === 0, WAIT, '/health to show no active stream', 50);
    await page.fill(byId('json-schema'), '');
  });

  it('a 422 is shown next to the field it names', async () => {
    await open();
    await fill({ prompt: 'hi', maxTokens: 4, temperature: '-1', seed: '1' });
    expect(await generate()).toBe('error');
    const err = page.locator('[data-error-for="temperature"]');
    expect(await err.textContent()).toMatch(/^temperature: .*>= 0/);
    expect(await page.locator(byId('temperature')).evaluate((el) => el.parentElement!.classList.contains('invalid'))).toBe(true);
    // fixed and sent again: the error goes away
    await page.fill(byId('temperature'), '0');
    expect(await generate()).not.toBe('error');
    expect(await err.textContent()).toBe('');
  });

  it('the schema box: its JSON Schema is sent as json_schema, the output is JSON for it; a bad schema shows the server\'s error', async () => {
    await open();
    const schema = {
      type: 'object',
      properties: { name: { type: 'string', maxLength: 10 }, tags: { type: 'array', items: { enum: ['a', 'b'] }, minItems: 1, maxItems: 3 }, n: { type: 'integer' } },
      required: ['name', 'tags', 'n'],
      additionalProperties: false,
    };
    const bodies: Array<Record<string, unknown>> = [];
    const onRequest = (r: Request) => {
      if (r.url().endsWith('/v1/stream') && r.postData()) bodies.push(JSON.parse(r.postData()!));
    };
    page.on('request', onRequest);
    try {
      await fill({ prompt: 'Through the storm', maxTokens: 200, temperature: '1', seed: '5' });
      await page.fill(byId('json-schema'), JSON.stringify(schema, null, 2));
      expect(await generate()).toBe('grammar_complete');
      expect(bodies[bodies.length - 1].json_schema).toEqual(schema);
      const text = (await page.textContent(byId('output')))!;
      const value = JSON.parse(text) as { name: string; tags: string[]; n: number };
      expect(Object.keys(value)).toEqual(['name', 'tags', 'n']);
      expect(value.tags.length >= 1 && value.tags.length <= 3 && value.tags.every((t) => t === 'a' || t === 'b')).toBe(true);
      expect(Number.isInteger(value.n)).toBe(true);
      const direct = await directIds(server.url, { prompt: 'Through the storm', max_tokens: 200, temperature: 1, seed: 5, json_schema: schema });
      expect(await pageTokenIds()).toEqual(direct.ids);

      // chat mode: the box becomes response_format json_schema; the reply is JSON for it
      const chatBodies: Array<Record<string, unknown>> = [];
      const onChat = (r: Request) => {
        if (r.url().endsWith('/v1/chat/completions')) chatBodies.push(JSON.parse(r.postData()!));
      };
      page.on('request', onChat);
      try {
        await page.check(byId('mode-chat'));
        expect(await generate()).toBe('stop');
        expect(chatBodies[0].response_format).toEqual({ type: 'json_schema', json_schema: { name: 'playground', schema } });
        const reply = await page.locator(`${byId('chat-log')} .msg.assistant`).last().evaluate((el) => el.lastChild!.textContent!);
        expect(Object.keys(JSON.parse(reply))).toEqual(['name', 'tags', 'n']);
      } finally {
        page.off('request', onChat);
        await page.click(byId('reset-chat'));
        await page.check(byId('mode-stream'));
        await page.fill(byId('prompt'), 'Through the storm'); // a chat turn empties the prompt
      }

      // a schema the server refuses: its 422 is shown next to the box
      await page.fill(byId('json-schema'), '{"type": "string", "pattern": "^a+$"}');
      expect(await generate()).toBe('error');
      const err = page.locator('[data-error-for="json_schema"]');
      expect(await err.textContent()).toMatch(/^json_schema: JSON schema \/pattern: pattern: /);
      // text that is not JSON is caught on the page, nothing is sent
      const sent = bodies.length;
      await page.fill(byId('json-schema'), '{"type": ');
      expect(await generate()).toBe('error');
      expect(await err.textContent()).toMatch(/^json_schema: not valid JSON/);
      expect(bodies.length).toBe(sent);
      // emptied: free text again
      await page.fill(byId('json-schema'), '');
      await fill({ prompt: 'Through the storm', maxTokens: 8, temperature: '0', seed: '5' });
      expect(await generate()).toBe('length');
      expect(bodies[bodies.length - 1]).not.toHaveProperty('json_schema');
      expect(await err.textContent()).toBe('');
    } finally {
      page.off('request', onRequest);
      await page.fill(byId('json-schema'), '');
    }
  });

  it('chat mode keeps the conversation: the second request carries the first turn', async () => {
    await open();
    const bodies: Array<{ messages: Array<{ role: string; content: string }>; stream: boolean }> = [];
    const onRequest = (r: Request) => {
      if (r.url().endsWith('/v1/chat/completions')) bodies.push(JSON.parse(r.postData()!));
    };
    page.on('request', onRequest);
    try {
      await page.check(byId('mode-chat'));
      await fill({ prompt: 'Hello there', maxTokens: 6, temperature: '0.7', seed: '11' });
      expect(await generate()).not.toBe('error');
      const firstReply = await page.locator(`${byId('chat-log')} .msg.assistant`).first().evaluate((el) => el.lastChild!.textContent);
      expect((await pageTokenIds()).length).toBeGreaterThan(0);
      await page.fill(byId('prompt'), 'And then?');
      expect(await generate()).not.toBe('error');
      expect(bodies.length).toBe(2);
      expect(bodies[0]).toMatchObject({ stream: true, messages: [{ role: 'user', content: 'Hello there' }] });
      expect(bodies[1].messages).toEqual([
        { role: 'user', content: 'Hello there' },
        { role: 'assistant', content: firstReply },
        { role: 'user', content: 'And then?' },
      ]);
      expect(await page.locator(`${byId('chat-log')} .msg`).count()).toBe(4);
    } finally {
      page.off('request', onRequest);
      await page.check(byId('mode-stream'));
    }
  });

  it('a dropped connection resumes with Last-Event-ID: no token lost, none twice', async () => {
    const proxy = await startDropProxy({ host: '127.0.0.1', port: server.port });
    try {
      await open(proxy.url);
      const params = { prompt: 'Go on and on', maxTokens: 200, temperature: '0.8', seed: '5' };
      await fill(params);
      // five token events and the start of the next reach the page, then the connection breaks
      proxy.dropNext('post /v1/stream', 5);
      await page.click(byId('generate'));
      await page.waitForFunction((sel) => document.querySelector(sel)!.textContent !== '', byId('status'), { timeout: 3 * WAIT });
      expect(proxy.drops).toBe(1);
      const direct = await directIds(server.url, { prompt: params.prompt, max_tokens: 200, temperature: 0.8, seed: 5 });
      expect({ status: await page.textContent(byId('status')), error: await page.textContent(byId('request-error')) }).toEqual({ status: direct.finish, error: '' });
      const resumed = proxy.heads.filter((h) => h.startsWith('post /v1/stream') && h.includes('\r\nlast-event-id: '));
      expect(resumed.length).toBeGreaterThanOrEqual(1);
      // the first resume names the last complete event the page read: at most the 5th, never the torn 6th
      // (Chromium may fail the body before handing over everything that arrived; then it is an earlier one)
      expect(/\r\nlast-event-id: (\S+)/.exec(resumed[0])![1]).toMatch(/:[0-5]$/);
      expect(await page.textContent(byId('resumes'))).toMatch(/resumed/);
      const ids = await pageTokenIds();
      expect(ids.length).toBe(direct.ids.length);
      expect(ids).toEqual(direct.ids);
      const positions = await page.$$eval(`${byId('output')} [data-token-id]`, (els) => els.map((e) => Number(e.getAttribute('data-position'))));
      expect(new Set(positions).size).toBe(positions.length); // no position twice
    } finally {
      await proxy.close();
    }
  }, 4 * WAIT);
  it('a drop the server notices: the resume gets the rest up to where it stopped, still nothing twice', async () => {
    const proxy = await startDropProxy({ host: '127.0.0.1', port: server.port });
    try {
      await open(proxy.url);
      await fill({ prompt: 'Go on and on', maxTokens: 2000, temperature: '0.8', seed: '5' });
      proxy.dropNext('post /v1/stream', 5, true);
      await page.click(byId('generate'));
      await page.waitForFunction((sel) => document.querySelector(sel)!.textContent !== '', byId('status'), { timeout: 3 * WAIT });
      expect(proxy.drops).toBe(1);
      // the server stopped within a step of the disconnect (or, on a very slow machine, had finished)
      const status = await page.textContent(byId('status'));
      expect(['client_disconnected', 'length']).toContain(status);
      const ids = await pageTokenIds();
      expect(ids.length).toBeGreaterThanOrEqual(5);
      // the same seed draws the same tokens whatever max_tokens is: the direct call stops where the page did
      const direct = await directIds(server.url, { prompt: 'Go on and on', max_tokens: ids.length, temperature: 0.8, seed: 5 });
      expect(ids).toEqual(direct.ids); // what was generated, in order, once each
      if (status === 'client_disconnected') expect(ids.length).toBeLessThan(2000);
      await waitFor(async () => (await activeStreams()) === 0, WAIT, '/health to show no active stream', 50);
    } finally {
      await proxy.close();
    }
  }, 4 * WAIT);
});

/** Runs the built bin until it has printed where it listens; returns its first lines of output. */
async function binBanner(args: string[], env: Record<string, string> = {}): Promise<string> {
  const bin = path.resolve(__dirname, '../../bin/bitnet-server.js');
  const proc = spawn(process.execPath, [bin, '--model', modelPath, '--port', '0', ...args], {
    env: { ...process.env, BITNET_LOG_LEVEL: 'warn', BITNET_PLAYGROUND: '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  try {
    await new Promise<void>((resolve, reject) => {
      proc.stdout!.on('data', (d) => {
        out += d;
        // the playground line, when there is one, comes in the same write as the listening line
        if (/listening on \S+\n/.test(out)) resolve();
      });
      proc.on('exit', (code) => reject(new Error(`bitnet-server exited (${code}): ${out}`)));
    });
  } finally {
    proc.kill('SIGTERM');
  }
  return out;
}

describe('--no-playground', () => {
  it('--no-playground and BITNET_PLAYGROUND=0 turn it off', () => {
    expect(parseServerOptions([], {}).playground).toBe(true);
    expect(parseServerOptions(['--no-playground'], {}).playground).toBe(false);
    expect(parseServerOptions([], { BITNET_PLAYGROUND: '0' }).playground).toBe(false);
    expect(parseServerOptions([], { BITNET_PLAYGROUND: '1' }).playground).toBe(true);
  });

  it('bitnet-server prints the playground URL when it starts, and not with --no-playground', async () => {
    const on = await binBanner([]);
    const url = /listening on (\S+)/.exec(on)![1];
    expect(on).toContain(`playground: ${url}/\n`);
    expect(await binBanner(['--no-playground'])).not.toContain('playground');
  });

  it('GET / is the JSON 404 when the playground is off', async () => {
    const off = await startTestServer(modelPath, { playground: false });
    try {
      const res = await fetch(`${off.url}/`);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: { type: 'not_found' } });
    } finally {
      await off.close();
    }
  });
});
