/**
 * The server at the engine's boundary: it opens the model file once (through the engine), tokenizes
 * each request's prompt once, and maps the engine's context overflow to its 400s.
 */
import * as fs from 'node:fs';
import * as models from '@bitnet/models';
import type { BitnetServer } from './server';
import { postJson, postSse, spawnServerBin, startTestServer, writeTinyModel } from './testing/harness';

let dir: string;
let modelPath: string;
let server: BitnetServer;

beforeAll(async () => {
  ({ dir, modelPath } = writeTinyModel());
});

afterAll(async () => {
  await server?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the server at the engine boundary', () => {
  it('reads the model file once on its own thread, and describes the model from what the engine read', async () => {
    const open = jest.spyOn(models.GgufFile, 'open');
    try {
      server = await startTestServer(modelPath);
      expect(open).toHaveBeenCalledTimes(1);
    } finally {
      open.mockRestore();
    }
    const m = server.context.engine.model;
    expect(server.context.model).toMatchObject({ id: 'tiny', architecture: m.architecture, quantization: m.quantization, context_length: m.contextLength, vocab_size: m.vocabSize, file: 'tiny.gguf' });
    expect(server.context.chatFormat).toBe(m.chatFormat ?? 'bitnet');
  });

  it('tokenizes a request prompt once', async () => {
    const encode = jest.spyOn(server.context.engine.tokenizer, 'encode');
    try {
      const r = await postSse(`${server.url}/v1/stream`, { prompt: 'In the beginning', max_tokens: 3, seed: 1 });
      expect(r.events[r.events.length - 1].event).toBe('complete');
      expect(encode).toHaveBeenCalledTimes(1);
      encode.mockClear();
      const c = await postJson(`${server.url}/v1/completions`, { model: 'tiny', prompt: 'And God said', max_tokens: 3 });
      expect(c.status).toBe(200);
      expect(encode).toHaveBeenCalledTimes(1);
    } finally {
      encode.mockRestore();
    }
  });

  it('maps the engine\'s context overflow to the 400 with the counts', async () => {
    const r = await postJson(`${server.url}/v1/stream`, { prompt: 'short', max_tokens: 2047 });
    expect(r.status).toBe(400);
    const n = server.context.engine.encodePrompt('short').length;
    expect(r.body.error).toMatchObject({ type: 'context_overflow', param: 'max_tokens', prompt_tokens: n, max_tokens: 2047, context_length: 2048 });
  });

  it('--threads reaches the engine: the kernel pool runs that many threads', async () => {
    // its own process: the kernel pool belongs to the process
    const srv = await spawnServerBin(['--threads', '1'], { BITNET_MODEL: modelPath, BITNET_LOG_LEVEL: 'info' });
    try {
      const line = srv.stderr().split('\n').find((l) => l.includes('"model loaded"'))!;
      expect(JSON.parse(line)).toMatchObject({ msg: 'model loaded', threads: 1 }); // the pool's size as the model thread reports it
      const r = await postSse(`${srv.url}/v1/stream`, { prompt: 'x', max_tokens: 2, seed: 1 });
      expect(r.events[r.events.length - 1].event).toBe('complete');
    } finally {
      srv.proc.kill('SIGKILL');
    }
  });
});
