/**
 * The engine end to end on a small model written by the project's writer: token ids through the
 * streaming API, concurrency, cancellation, errors. Test names follow the seed so `-t` selects them.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { buildSyntheticModel, smallByteVocab } from '@bitnet/models';
import { InferenceError } from '../errors/InferenceError';
import type { StreamResponse } from '../streaming/StreamBuffer';
import { generateToEndWithFaults, generateWithFaults, loadEngineForTests } from '../testing/engine';
import { InferenceEngine } from './InferenceEngine';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-engine-'));
const modelPath = path.join(dir, 'm.gguf');
let engine: InferenceEngine;

beforeAll(async () => {
  buildSyntheticModel({ arch: 'bitnet', quant: 'tq2_0', dim: 256, ff: 512, layers: 2, heads: 4, kvHeads: 2, vocab: smallByteVocab(), seed: 9, contextLength: 512 }).writeFile(modelPath);
  // loaded for tests: the retry and timeout cases below inject faults into the model thread
  engine = await loadEngineForTests(modelPath, { maxChunkTokens: 16 });
});
afterAll(async () => {
  await engine?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function drain(stream: AsyncIterable<StreamResponse>): Promise<StreamResponse[]> {
  const out: StreamResponse[] = [];
  for await (const r of stream) out.push(r);
  return out;
}

const ids = (rs: StreamResponse[]) => rs.flatMap((r) => r.tokenIds);
const text = (rs: StreamResponse[]) => rs.map((r) => r.text).join('');

describe('streaming with token ids', () => {
  it('test_token_id_streaming', async () => {
    const stream = engine.generateStreamWithConfig('In the beginning', { maxNewTokens: 24, temperature: 0 }, { bufferSize: 3, flushIntervalMs: 1000 });
    const rs = await drain(stream);
    const all = ids(rs);
    expect(all.length).toBe(24);
    expect(rs[rs.length - 1].finishReason).toBe('max_tokens');
    for (const r of rs.slice(0, -1)) expect(r.tokenIds.length).toBe(3); // flushed by size
    for (const id of all) expect(id).toBeLessThan(engine.config.vocabSize);
    expect(text(rs)).toBe(engine.tokenizer.decode(all, { skipSpecial: true }));
    expect(stream.generatedIds).toEqual(all);
    expect(stream.promptIds[0]).toBe(engine.tokenizer.bosId);
  });

  it('test_streaming_token_id_consistency', async () => {
    const reference = await engine.generate('And God said', { maxNewTokens: 20, temperature: 0.8, seed: 5 });
    expect(reference.tokenIds.length).toBeGreaterThan(0);
    for (const bufferSize of [1, 2, 5, 10, 64]) {
      for (const flushIntervalMs of [1, 25, 1000]) {
        const rs = await drain(engine.generateStreamWithConfig('And God said', { maxNewTokens: 20, temperature: 0.8, seed: 5 }, { bufferSize, flushIntervalMs }));
        expect({ bufferSize, flushIntervalMs, ids: ids(rs) }).toEqual({ bufferSize, flushIntervalMs, ids: reference.tokenIds });
        expect(text(rs)).toBe(reference.text);
        for (const r of rs) expect(r.tokenIds.length).toBeLessThanOrEqual(bufferSize);
      }
    }
  });

  it('test_concurrent_streams', async () => {
    const prompts = Array.from({ length: 8 }, (_, i) => `Prompt number ${i}: and the earth`);
    // EOS banned: every sequence decodes all 48 tokens. The 8 byte-level prompts (~35 ids each) take
    // ~25 passes of 16 rows to prefill beside the first sequences' decoding, so a sequence that ended
    // early (one drew EOS at its 30th token) could leave before the last one joined the batch.
    const eos = engine.tokenizer.eosId;
    if (eos === undefined) throw new Error('the test model has an EOS id');
    const config = (i: number) => ({ maxNewTokens: 48, temperature: 0.9, seed: 100 + i, logitBias: { [eos]: -100 } });
    const solo: number[][] = [];
    for (let i = 0; i < 8; i++) solo.push((await engine.generate(prompts[i], config(i))).tokenIds);
    solo.forEach((s) => expect(s.length).toBe(48));
    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    const together = await Promise.all(prompts.map((p, i) => drain(engine.generateStreamWithConfig(p, config(i), { bufferSize: 2 }))));
    delay.disable();
    together.forEach((rs, i) => expect(ids(rs)).toEqual(solo[i]));
    // and they really ran together: continuous batching put all 8 in one decode step
    expect(engine.schedulingStats.maxDecodeBatch).toBe(8);
    // the model runs on the worker thread: the main event loop stays responsive
    expect(delay.max / 1e6).toBeLessThan(200);
  });
});

describe('stopping, cancelling and errors', () => {
  it('cancel() stops the sequence within one step and keeps every delivered id', async () => {
    const stream = engine.generateStreamWithConfig('Cancel me', { maxNewTokens: 400, temperature: 0 }, { bufferSize: 1 });
    const got: StreamResponse[] = [];
    for await (const r of stream) {
      got.push(r);
      if (ids(got).length === 5) stream.cancel();
    }
    expect(got[got.length - 1].finishReason).toBe('cancelled');
    expect(ids(got).length).toBeGreaterThanOrEqual(5);
    expect(ids(got).length).toBeLessThan(10);
    await new Promise((r) => setTimeout(r, 50));
    expect(engine.activeSequences).toBe(0);
  });

  it('an AbortSignal cancels during prefill', async () => {
    const ac = new AbortController();
    const long = 'word '.repeat(120);
    // prefill takes several steps (chunks of 16); steps 1-3 stall 40 ms each so the abort lands inside it
    const stream = generateWithFaults(engine, long, { maxNewTokens: 50 }, {}, { signal: ac.signal }, { stallSteps: [1, 2, 3], stallMs: 40 });
    setTimeout(() => ac.abort(), 10);
    const t0 = performance.now();
    const rs = await drain(stream);
    expect(rs[rs.length - 1].finishReason).toBe('cancelled');
    expect(ids(rs)).toEqual([]); // nothing was generated: prefill itself was stopped
    expect(performance.now() - t0).toBeLessThan(1000);
    await new Promise((r) => setTimeout(r, 100));
    expect(engine.activeSequences).toBe(0);
  });

  it('an already-aborted signal starts no work', async () => {
    const before = engine.activeSequences;
    const rs = await drain(engine.generateStreamWithConfig('x', { maxNewTokens: 50 }, {}, { signal: AbortSignal.abort() }));
    expect(rs[rs.length - 1].finishReason).toBe('cancelled');
    expect(ids(rs)).toEqual([]);
    expect(engine.activeSequences).toBe(before);
  });

  it('stop sequences end the stream and their text is never emitted', async () => {
    const free = await engine.generate('Stop test', { maxNewTokens: 40, temperature: 0 });
    const stop = free.text.slice(10, 13);
    expect(stop.length).toBe(3);
    const r = await engine.generate('Stop test', { maxNewTokens: 40, temperature: 0, stopSequences: [stop] });
    expect(r.finishReason).toBe('stop_sequence');
    expect(r.text).toBe(free.text.slice(0, free.text.indexOf(stop)));
    expect(free.tokenIds.slice(0, r.tokenIds.length)).toEqual(r.tokenIds);
  });

  it('rejects a prompt that cannot fit before doing any work', () => {
    const prompt = 'x '.repeat(300);
    const before = engine.activeSequences;
    expect(() => engine.generateStream(prompt, { maxNewTokens: 400 })).toThrow(InferenceError);
    expect(() => engine.generateStream(prompt, { maxNewTokens: 400 })).toThrow(/exceeds the context length 512/);
    expect(engine.activeSequences).toBe(before);
  });

  it('rejects invalid configs naming the field', () => {
    expect(() => engine.generateStream('x', { temperature: -1 })).toThrow(/temperature: must be between 0 and 100/);
    expect(() => engine.generateStreamWithConfig('x', {}, { bufferSize: 0 })).toThrow(/bufferSize/);
  });

  it('retries transient step failures up to maxRetries, then reports a typed error', async () => {
    const clean = await engine.generate('Retry', { maxNewTokens: 8, temperature: 0 });
    const retried = await generateToEndWithFaults(engine, 'Retry', { maxNewTokens: 8, temperature: 0 }, { failSteps: [0, 3] });
    expect(retried.tokenIds).toEqual(clean.tokenIds);
    const stream = generateWithFaults(engine, 'Retry', { maxNewTokens: 8, temperature: 0 }, { maxRetries: 0 }, {}, { failSteps: [2] });
    await expect(drain(stream)).rejects.toMatchObject({ type: 'generation_failed' });
  });

  it('a step slower than tokenTimeoutMs is a token_timeout error', async () => {
    const stream = generateWithFaults(engine, 'Slow', { maxNewTokens: 5 }, { tokenTimeoutMs: 50 }, {}, { stallSteps: [2], stallMs: 300 });
    await expect(drain(stream)).rejects.toMatchObject({ type: 'token_timeout' });
  });
});

describe('computeNice', () => {
  it('rejects a value outside 0..19 naming the option', async () => {
    await expect(InferenceEngine.load(modelPath, { computeNice: 20 })).rejects.toThrow(/computeNice/);
    await expect(InferenceEngine.load(modelPath, { computeNice: 1.5 })).rejects.toThrow(/computeNice/);
  });

  // Linux keeps a nice value per thread (/proc/self/task/<tid>/stat, field 19). The check runs in a
  // fresh process: the native kernel pool is process-wide and created by the first engine.
  (process.platform === 'linux' ? it : it.skip)('runs the model thread and the kernel threads at the lower priority, the main thread unchanged', () => {
    const script = `
      const fs = require('node:fs');
      const { InferenceEngine } = require(${JSON.stringify(path.resolve(__dirname, '../../dist/index.js'))});
      (async () => {
        const engine = await InferenceEngine.load(${JSON.stringify(modelPath)}, { computeNice: 7 });
        await engine.generate('x', { maxNewTokens: 2 });
        const nice = (tid) => Number(fs.readFileSync('/proc/self/task/' + tid + '/stat', 'utf8').split(') ')[1].split(' ')[16]);
        const tids = fs.readdirSync('/proc/self/task');
        const out = { main: nice(String(process.pid)), lowered: tids.filter((t) => nice(t) === 7).length };
        await engine.close();
        console.log(JSON.stringify(out));
      })();`;
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    const r = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, BITNET_THREADS: '2' } }).trim());
    expect(r.main).toBe(0);
    // the worker thread, plus the pool's extra thread when the native kernels run
    expect(r.lowered).toBeGreaterThanOrEqual(process.env.BITNET_KERNELS === 'ts' ? 1 : 2);
  });
});
