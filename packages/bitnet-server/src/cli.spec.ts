/**
 * The `bitnet-server` bin as a user runs it: options from the command line and the environment,
 * graceful shutdown on SIGTERM, clear errors.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultPromptCacheMb } from './promptCache';
import { parseServerOptions } from './ServerOptions';
import { postSse, spawnServerBin, tokenEvents, writeTinyModel } from './testing/harness';

const bin = path.resolve(__dirname, '../bin/bitnet-server.js');
let dir: string;
let modelPath: string;
beforeAll(() => ({ dir, modelPath } = writeTinyModel()));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('options', () => {
  it('command line, then environment, then defaults; bad values named', () => {
    expect(parseServerOptions([], {})).toMatchObject({ port: 8080, host: '127.0.0.1', maxConcurrent: 4, maxQueue: 16, logLevel: 'info', model: undefined });
    const env = { BITNET_PORT: '9000', BITNET_MODEL: '/m.gguf', BITNET_MAX_CONCURRENT: '2', BITNET_MAX_QUEUE: '3', BITNET_API_KEY: 'k', BITNET_LOG_LEVEL: 'warn', BITNET_THREADS: '2', BITNET_HOST: '0.0.0.0' };
    expect(parseServerOptions([], env)).toMatchObject({ port: 9000, model: '/m.gguf', maxConcurrent: 2, maxQueue: 3, apiKey: 'k', logLevel: 'warn', threads: 2, host: '0.0.0.0' });
    expect(parseServerOptions(['--port', '8081', '--model', 'x.gguf', '--max-concurrent', '7'], env)).toMatchObject({ port: 8081, model: 'x.gguf', maxConcurrent: 7, maxQueue: 3 });
    expect(() => parseServerOptions(['--max-concurrent', 'lots'], {})).toThrow(/--max-concurrent: expected an integer/);
    expect(() => parseServerOptions([], { BITNET_MAX_QUEUE: '-1' })).toThrow(/BITNET_MAX_QUEUE/);
    expect(() => parseServerOptions(['--log-level', 'loud'], {})).toThrow(/--log-level/);
    expect(() => parseServerOptions(['--bogus'], {})).toThrow(/bogus/);
  });

  it('--output-q8 / BITNET_OUTPUT_Q8: off by default, on from the flag or the environment, bad values named', () => {
    expect(parseServerOptions([], {}).outputQ8).toBe(false);
    expect(parseServerOptions(['--output-q8'], {}).outputQ8).toBe(true);
    expect(parseServerOptions([], { BITNET_OUTPUT_Q8: '1' }).outputQ8).toBe(true);
    expect(parseServerOptions([], { BITNET_OUTPUT_Q8: 'true' }).outputQ8).toBe(true);
    expect(parseServerOptions([], { BITNET_OUTPUT_Q8: '0' }).outputQ8).toBe(false);
    expect(parseServerOptions([], { BITNET_OUTPUT_Q8: '' }).outputQ8).toBe(false);
    expect(parseServerOptions(['--output-q8'], { BITNET_OUTPUT_Q8: '0' }).outputQ8).toBe(true);
    expect(() => parseServerOptions([], { BITNET_OUTPUT_Q8: 'yes please' })).toThrow(/BITNET_OUTPUT_Q8: expected 1 or 0/);
  });

  it('--output-screened / BITNET_OUTPUT_SCREENED: off by default, on from the flag or the environment, not with --output-q8', () => {
    expect(parseServerOptions([], {}).outputScreened).toBe(false);
    expect(parseServerOptions(['--output-screened'], {}).outputScreened).toBe(true);
    expect(parseServerOptions([], { BITNET_OUTPUT_SCREENED: '1' }).outputScreened).toBe(true);
    expect(parseServerOptions([], { BITNET_OUTPUT_SCREENED: '0' }).outputScreened).toBe(false);
    expect(() => parseServerOptions([], { BITNET_OUTPUT_SCREENED: 'sure' })).toThrow(/BITNET_OUTPUT_SCREENED: expected 1 or 0/);
    expect(() => parseServerOptions(['--output-q8', '--output-screened'], {})).toThrow(/choose one/);
    expect(() => parseServerOptions([], { BITNET_OUTPUT_Q8: '1', BITNET_OUTPUT_SCREENED: '1' })).toThrow(/choose one/);
  });

  it('--prompt-cache-mb / BITNET_PROMPT_CACHE_MB: unset (the default sized at start) unless given, 0 allowed, bad values named', () => {
    expect(parseServerOptions([], {}).promptCacheMb).toBeUndefined();
    expect(parseServerOptions(['--prompt-cache-mb', '64'], {}).promptCacheMb).toBe(64);
    expect(parseServerOptions([], { BITNET_PROMPT_CACHE_MB: '0' }).promptCacheMb).toBe(0);
    expect(parseServerOptions(['--prompt-cache-mb', '8'], { BITNET_PROMPT_CACHE_MB: '0' }).promptCacheMb).toBe(8);
    expect(() => parseServerOptions(['--prompt-cache-mb', 'lots'], {})).toThrow(/--prompt-cache-mb: expected an integer/);
    expect(() => parseServerOptions([], { BITNET_PROMPT_CACHE_MB: '-5' })).toThrow(/BITNET_PROMPT_CACHE_MB: expected an integer/);
    expect(() => parseServerOptions(['--prompt-cache-mb', String(2 ** 21)], {})).toThrow(/--prompt-cache-mb: must be from 0 to 1048576/);
  });

  it('the default prompt cache: min(1024 MB, a quarter of free memory, max(16 MB, the model file))', () => {
    const MB = 1024 ** 2;
    const GB = 1024 ** 3;
    expect(defaultPromptCacheMb({ modelBytes: 1.1 * GB, freeBytes: 64 * GB })).toBe(1024); // the 2B4T I2_S file
    expect(defaultPromptCacheMb({ modelBytes: 1.1 * GB, freeBytes: 2 * GB })).toBe(512);
    expect(defaultPromptCacheMb({ modelBytes: 300 * MB, freeBytes: 64 * GB })).toBe(300);
    expect(defaultPromptCacheMb({ modelBytes: 3 * MB, freeBytes: 64 * GB })).toBe(16); // the bundled model
    expect(defaultPromptCacheMb({ modelBytes: 0, freeBytes: 8 * MB })).toBe(2);
  });

  it('the bin refuses bad options (exit 2) and names --model / BITNET_MODEL when there is no model', () => {
    const bad = spawnSync(process.execPath, [bin, '--port', 'x'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--port: expected an integer/);
    const none = spawnSync(process.execPath, [bin], { encoding: 'utf8', env: { ...process.env, BITNET_MODEL: '', BITNET_DEFAULT_MODEL: path.join(dir, 'missing.gguf') } });
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/--model/);
    expect(none.stderr).toMatch(/BITNET_MODEL/);
  });
});

describe('bin', () => {
  it('streaming: SIGTERM ends open streams with their final event, then the process exits 0', async () => {
    // options through environment variables this time
    const srv = await spawnServerBin([], { BITNET_MODEL: modelPath, BITNET_MAX_CONCURRENT: '2', BITNET_PREFILL_CHUNK: '4', BITNET_PROMPT_CACHE_MB: '3' });
    try {
      const health = (await (await fetch(`${srv.url}/health`)).json()) as { streams: { max_concurrent: number }; prompt_cache: Record<string, unknown> };
      expect(health.streams.max_concurrent).toBe(2);
      expect(health.prompt_cache).toMatchObject({ enabled: true, source: 'option', size_mb: 3, bytes: 0, cached_blocks: 0 });
      let sent = false;
      // greedy from this prompt runs to max_tokens on the test model: the stream is open at SIGTERM
      const open = postSse(`${srv.url}/v1/stream`, { prompt: 'Busy busy', max_tokens: 1900, temperature: 0 }, {
        onEvent: (e) => {
          if (e.event === 'token' && !sent) {
            sent = true;
            srv.proc.kill('SIGTERM');
          }
        },
      });
      const r = await open;
      const last = r.events[r.events.length - 1];
      expect(last.event).toBe('complete');
      const complete = JSON.parse(last.data);
      expect(complete).toMatchObject({ completed_normally: false, completion_reason: 'server_shutdown' });
      expect(complete.total_tokens).toBe(tokenEvents(r).length);
      expect(complete.total_tokens).toBeLessThan(1900);
      expect(await srv.exited).toBe(0);
    } finally {
      srv.proc.kill('SIGKILL');
    }
  });
});
