/**
 * The engine's boundary: what load() reports, which errors come out (all InferenceErrors with a
 * type), strict option keys, prompts as ids, thread count, and the engine's life cycle (an idle
 * engine does not keep the process alive; close() drains).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSyntheticModel, smallByteVocab } from '@bitnet/models';
import { ConfigError, ContextOverflowError, InferenceError } from '../errors/InferenceError';
import type { StreamResponse } from '../streaming/StreamBuffer';
import { InferenceEngine } from './InferenceEngine';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-boundary-'));
const modelPath = path.join(dir, 'm.gguf');
const distIndex = path.resolve(__dirname, '../../dist/index.js');
let engine: InferenceEngine;

beforeAll(async () => {
  buildSyntheticModel({ arch: 'bitnet-b1.58', quant: 'i2_s', dim: 128, ff: 256, layers: 2, heads: 4, kvHeads: 2, vocab: smallByteVocab(), seed: 4, contextLength: 256 }).writeFile(modelPath);
  engine = await InferenceEngine.load(modelPath, { maxChunkTokens: 16 });
});
afterAll(async () => {
  await engine?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs a node script in a child process; resolves with its exit code, output and run time. */
function runNode(script: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; ms: number; killed: boolean }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['-e', script], { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: child.exitCode, stdout, stderr, ms: Date.now() - t0, killed: child.killed || (err as { killed?: boolean } | null)?.killed === true });
    });
  });
}

async function rejection(p: Promise<unknown>): Promise<InferenceError> {
  try {
    await p;
  } catch (e) {
    return e as InferenceError;
  }
  throw new Error('expected a rejection');
}

describe('load', () => {
  it('describes the model once: summary, chat format, special ids', () => {
    const m = engine.model;
    expect(m.path).toBe(modelPath);
    expect(m.architecture).toBe('bitnet-b1.58');
    expect(m.quantization).toBe('I2_S');
    expect(m.contextLength).toBe(256);
    expect(m.vocabSize).toBe(engine.tokenizer.vocabSize);
    expect(m.parameters).toBeGreaterThan(0);
    expect(m.special.bos).toBe(engine.tokenizer.bosId);
    expect(m.special.endOfGeneration).toEqual(engine.tokenizer.endOfGenerationIds);
    expect(engine.config).toBe(m.config);
    expect(engine.loadInfo.threads).toBeGreaterThanOrEqual(1);
  });

  it('a missing file is an InferenceError of type model_load', async () => {
    const e = await rejection(InferenceEngine.load(path.join(dir, 'nope.gguf')));
    expect(e).toBeInstanceOf(InferenceError);
    expect(e.type).toBe('model_load');
    expect(e.message).toMatch(/no model file/);
  });

  it('a truncated or malformed file is an InferenceError of type model_load', async () => {
    const bytes = fs.readFileSync(modelPath);
    for (const [name, data] of [
      ['header cut', bytes.subarray(0, 64)],
      ['tensor data cut', bytes.subarray(0, Math.floor(bytes.length * 0.6))],
      ['not a gguf', Buffer.from('this is not a model file at all, just text\n'.repeat(10))],
    ] as const) {
      const file = path.join(dir, `${name.replace(/ /g, '-')}.gguf`);
      fs.writeFileSync(file, data);
      const e = await rejection(InferenceEngine.load(file));
      expect({ name, isInferenceError: e instanceof InferenceError, type: e.type }).toEqual({ name, isInferenceError: true, type: 'model_load' });
    }
  });

  it('rejects an unknown option naming the closest valid one', async () => {
    const e = await rejection(InferenceEngine.load(modelPath, { thread: 2 } as never));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(/thread: is not an option of EngineOptions; did you mean 'threads'\?/);
    await expect(InferenceEngine.load(modelPath, { threads: 0 })).rejects.toThrow(/threads: must be an integer from 1 to 256/);
  });
});

describe('generation options and prompts', () => {
  it("generate('x', { max_tokens: 3 }) is rejected naming maxNewTokens", async () => {
    const e = await rejection(engine.generate('x', { max_tokens: 3 } as never));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.type).toBe('invalid_config');
    expect((e as ConfigError).field).toBe('max_tokens');
    expect((e as ConfigError).suggestion).toBe('maxNewTokens');
    expect(e.message).toMatch(/did you mean 'maxNewTokens'/);
  });

  it('unknown streaming and generate options are rejected too', () => {
    expect(() => engine.generateStreamWithConfig('x', {}, { buffer_size: 2 } as never)).toThrow(/buffer_size: .*did you mean 'bufferSize'/);
    expect(() => engine.generateStream('x', {}, { signl: undefined } as never)).toThrow(/signl: .*did you mean 'signal'/);
    expect(() => engine.generateStream('x', { bufferSize: 2 } as never)).toThrow(/bufferSize: is not an option of GenerationConfig \(it belongs to StreamingConfig\)/);
  });

  it('takes a prompt as token ids, with the same result as its text', async () => {
    const text = await engine.generate('In the beginning', { maxNewTokens: 6, temperature: 0 });
    const ids = await engine.generate(engine.encodePrompt('In the beginning'), { maxNewTokens: 6, temperature: 0 });
    expect(ids.tokenIds).toEqual(text.tokenIds);
    expect(ids.promptIds).toEqual(text.promptIds);
    await expect(engine.generate([1, 2, 1e9])).rejects.toThrow(/token id 1000000000 at index 2 is not in the vocabulary/);
  });

  it('context overflow is one typed error with the counts', async () => {
    const prompt = Array.from({ length: 200 }, () => 65);
    const e = await rejection(engine.generate(prompt, { maxNewTokens: 100 }));
    expect(e).toBeInstanceOf(ContextOverflowError);
    expect(e).toMatchObject({ type: 'context_overflow', promptTokens: 200, maxTokens: 100, contextLength: 256 });
    expect(() => engine.checkContext(200, 56)).not.toThrow();
    expect(() => engine.checkContext(256, 1)).toThrow(ContextOverflowError);
  });
});

describe('threads', () => {
  // the native pool belongs to the process and is created once: each count is checked in a fresh process
  it.each([1, 2])('{ threads: %i } runs that many kernel threads', async (threads) => {
    const script = `
      const { InferenceEngine } = require(${JSON.stringify(distIndex)});
      const { kernelBackend } = require(${JSON.stringify(require.resolve('@bitnet/kernels').replace(/src[\\/]index\.ts$/, 'dist/index.js'))});
      (async () => {
        const engine = await InferenceEngine.load(${JSON.stringify(modelPath)}, { threads: ${threads} });
        await engine.generate('x', { maxNewTokens: 2 });
        console.log(JSON.stringify({ threads: engine.loadInfo.threads, kernels: engine.loadInfo.kernels }));
        await engine.close();
      })();`;
    const r = await runNode(script, 60_000);
    expect(r.stderr.replace(/.*BITNET_TS_KERNELS.*\n?|.*node --trace-warnings.*\n?/g, '')).toBe('');
    const out = JSON.parse(r.stdout.trim());
    expect(out.threads).toBe(out.kernels === 'native' ? threads : 1);
  });

  it('--threads on the CLIs', async () => {
    const bin = (name: string) => path.resolve(__dirname, '../../bin', name);
    const text = path.join(dir, 'text.txt');
    fs.writeFileSync(text, 'And God said, Let there be light: and there was light.\n');
    const run = (file: string, args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = execFile(process.execPath, [file, ...args], { timeout: 60_000, encoding: 'utf8' }, (_e, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
      });
    const g = await run(bin('bitnet-generate.js'), ['--model', modelPath, '--prompt', 'In the beginning', '--max-tokens', '2', '--seed', '42', '--threads', '1', '--json']);
    expect(g.code).toBe(0);
    const summary = JSON.parse(g.stdout.trim().split('\n').pop()!);
    expect(summary.ids).toHaveLength(2);
    expect(summary.threads).toBe(1);
    const p = await run(bin('bitnet-perplexity.js'), ['--model', modelPath, '--file', text, '--threads', '1', '--max-windows', '1', '--json']);
    expect(p.code).toBe(0);
    expect(JSON.parse(p.stdout).perplexity).toBeGreaterThan(1);
    const bad = await run(bin('bitnet-generate.js'), ['--model', modelPath, '--prompt', 'x', '--threads', '0']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/threads: must be an integer from 1 to 256/);
  });
});

describe('life cycle', () => {
  it('a script that never calls close() exits by itself after its last generation', async () => {
    const script = `
      const { InferenceEngine } = require(${JSON.stringify(distIndex)});
      (async () => {
        const engine = await InferenceEngine.load(${JSON.stringify(modelPath)});
        // seeded: the default seed is random, and a draw of the end-of-text id would end a run early
        const r = await engine.generate('And God said', { maxNewTokens: 4, seed: 42, repetitionPenalty: 1.1 });
        const s = engine.generateStream('Let there be', { maxNewTokens: 3, seed: 42, repetitionPenalty: 1.1 });
        let n = 0;
        for await (const x of s) n += x.tokenIds.length;
        console.log(JSON.stringify({ first: r.tokenIds.length, second: n }));
      })();`;
    const r = await runNode(script, 30_000);
    expect(r.killed).toBe(false);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ first: 4, second: 3 });
    expect(r.ms).toBeLessThan(20_000);
  });

  it('close() ends a stream in flight as cancelled; later calls reject with engine_closed', async () => {
    const e2 = await InferenceEngine.load(modelPath, { maxChunkTokens: 16 });
    // the end-of-generation ids banned: with the random default seed, drawing one ended the stream before close()
    const noEnd = Object.fromEntries(e2.model.special.endOfGeneration.map((id) => [id, -100]));
    const stream = e2.generateStreamWithConfig('In the beginning', { maxNewTokens: 200, logitBias: noEnd }, { bufferSize: 1 });
    const got: StreamResponse[] = [];
    let closed: Promise<void> | undefined;
    for await (const r of stream) {
      got.push(r);
      if (!closed && got.length === 2) closed = e2.close();
    }
    expect(got[got.length - 1].finishReason).toBe('cancelled');
    expect(got.flatMap((r) => r.tokenIds).length).toBeLessThan(200);
    await closed;
    expect(e2.activeSequences).toBe(0);
    const e = await rejection(e2.generate('x'));
    expect(e).toBeInstanceOf(InferenceError);
    expect(e.type).toBe('engine_closed');
    expect(() => e2.generateStream('x')).toThrow(expect.objectContaining({ type: 'engine_closed' }));
    await e2.close(); // a second close is a no-op
  });
});
