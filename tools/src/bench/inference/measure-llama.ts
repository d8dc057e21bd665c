/**
 * Measurement child for llama.cpp through node-llama-cpp (its prebuilt CPU binaries; never built
 * or downloaded here). Same prompts as ours, as token ids; greedy; end-of-generation tokens do not
 * stop it (yieldEogToken), so every stream produces exactly the tokens asked for.
 *
 * Concurrent streams use one context with N sequences and N evaluate() generators running at once;
 * node-llama-cpp queues their tokens and sends them to llama.cpp as one batch per decode call. To
 * show that this really happens, the context's native addToBatch/decodeBatch calls are counted:
 * each decode call reports how many distinct sequences its batch held.
 */
import * as os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type * as NodeLlamaCpp from 'node-llama-cpp';
import { MainGcRecorder } from './gc';
import { MemorySampler } from './memory';
import { fileDecodeBytes } from './roofline';
import { ChildRequest, ChildResult, LongContextResult, SEED_LONG, SEED_PROMPT, SEED_WARMUP, StreamsResult, cpuSnapshot, ELD_RESOLUTION_MS, longContextResult, majorFaults, processFigures, promptIds, singleStreamRates, streamSeed, streamsResult, settle, probeBandwidth, betterBandwidth } from './workload';

type Llama = NodeLlamaCpp.Llama;
type LlamaModel = NodeLlamaCpp.LlamaModel;
type LlamaContext = NodeLlamaCpp.LlamaContext;
type LlamaContextSequence = NodeLlamaCpp.LlamaContextSequence;
type Token = NodeLlamaCpp.Token;

// node-llama-cpp is ESM only; this file compiles to CommonJS, where a plain import() would become require().
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<typeof NodeLlamaCpp>;

/** Per decode call of a context: distinct sequences in its batch and tokens in it. */
interface BatchCounter {
  calls: Array<{ sequences: number; tokens: number }>;
}

/**
 * Wraps the context's native batch calls (internal `_ctx` object of node-llama-cpp 3.x) to count
 * sequences per decode. Missing internals only lose the count, never the measurement.
 */
export function countBatches(context: LlamaContext): BatchCounter | undefined {
  const native = (context as unknown as { _ctx?: Record<string, unknown> })._ctx;
  if (!native || typeof native.addToBatch !== 'function' || typeof native.decodeBatch !== 'function') return undefined;
  const counter: BatchCounter = { calls: [] };
  const addToBatch = native.addToBatch as (seq: number, first: number, tokens: Uint32Array, ...rest: unknown[]) => unknown;
  const decodeBatch = native.decodeBatch as () => Promise<void>;
  let pending = new Set<number>();
  let tokens = 0;
  // the native methods are read-only inherited properties: shadow them with own properties
  const wrap = (name: string, fn: unknown) => Object.defineProperty(native, name, { value: fn, configurable: true, writable: true });
  try {
    wrap('addToBatch', (seq: number, first: number, ids: Uint32Array, ...rest: unknown[]) => {
      pending.add(seq);
      tokens += ids.length;
      return addToBatch.call(native, seq, first, ids, ...rest);
    });
    wrap('decodeBatch', () => {
      counter.calls.push({ sequences: pending.size, tokens });
      pending = new Set();
      tokens = 0;
      return decodeBatch.call(native);
    });
  } catch {
    return undefined;
  }
  return counter;
}

/** Greedy tokens of one sequence from these ids; returns the arrival time of each. */
async function run(sequence: LlamaContextSequence, ids: number[], maxNewTokens: number): Promise<number[]> {
  const times: number[] = [];
  for await (const _token of sequence.evaluate(ids as Token[], { temperature: 0, yieldEogToken: true })) {
    times.push(performance.now());
    if (times.length >= maxNewTokens) break;
  }
  return times;
}

async function context(model: LlamaModel, threads: number, sequences: number, contextSize: number): Promise<LlamaContext> {
  return model.createContext({ contextSize, sequences, threads, batchSize: 512, flashAttention: false });
}

export async function measureLlama(req: ChildRequest): Promise<ChildResult> {
  const w = req.workload;
  const loadAtStart = os.loadavg()[0];
  const cpuAtStart = cpuSnapshot();
  const memory = new MemorySampler();
  const { getLlama, LlamaLogLevel } = await importEsm('node-llama-cpp');
  const llama: Llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, progressLogs: false });

  const t0 = performance.now();
  const model = await llama.loadModel({ modelPath: req.file, gpuLayers: 0 });
  const single = await context(model, req.threads, 1, w.promptTokens + w.newTokens + 16);
  const loadMs = performance.now() - t0;
  try {
    const seq = single.getSequence();
    const tw = performance.now();
    await run(seq, promptIds(8, SEED_WARMUP), 2);
    const warmupMs = performance.now() - tw;
    const faultsAfterWarmup = majorFaults();
    await settle(req.settleMs);
    await seq.clearHistory();

    // The streams first, as for our engine (measure-ours.ts): nothing large is freed before the
    // event-loop rows. The idle single-stream context stays allocated meanwhile (its KV: ~30 MB).
    const streams: StreamsResult[] = [];
    for (const n of w.streamCounts) {
      const ctx = await context(model, req.threads, n, w.streamPromptTokens + w.streamNewTokens + 16);
      try {
        const seqs = Array.from({ length: n }, () => ctx.getSequence());
        const counter = countBatches(ctx);
        const prompts = seqs.map((_, i) => promptIds(w.streamPromptTokens, streamSeed(n, i)));
        const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
        eld.enable();
        const gc = new MainGcRecorder();
        const start = performance.now();
        const runs = await Promise.all(seqs.map(async (s, i) => {
          const t = await run(s, prompts[i], w.streamNewTokens);
          return { t, doneAt: performance.now() };
        }));
        const wallMs = Math.max(...runs.map((r) => r.doneAt)) - start;
        eld.disable();
        const mainGc = gc.stop();
        const total = runs.reduce((s, r) => s + r.t.length, 0);
        // decode steps are the calls with one token per sequence (prompt batches carry many tokens per sequence)
        const decodeSizes = (counter?.calls ?? []).filter((c) => c.tokens === c.sequences).map((c) => c.sequences);
        // without the counter (node-llama-cpp internals changed) the batch sizes are unknown
        const batch = !counter
          ? { mean: NaN, max: 0 }
          : { mean: decodeSizes.length ? decodeSizes.reduce((a, b) => a + b, 0) / decodeSizes.length : 0, max: decodeSizes.length ? Math.max(...decodeSizes) : 0 };
        streams.push(streamsResult(n, w, total, wallMs, batch, eld, mainGc));
      } finally {
        await ctx.dispose();
      }
    }

    const prompt = promptIds(w.promptTokens, SEED_PROMPT);
    const bwBefore = memory.excluding(() => probeBandwidth(req.file));
    const ts = performance.now();
    const times = await run(seq, prompt, w.newTokens);
    const decodeBandwidthGBs = betterBandwidth(bwBefore, memory.excluding(() => probeBandwidth(req.file)));
    const rates = singleStreamRates(ts, times, prompt.length);
    await single.dispose();

    let longContext: LongContextResult | undefined;
    if (req.longContext) {
      const ctx = await context(model, req.threads, 1, w.longContextTokens);
      try {
        const longPrompt = promptIds(w.longContextTokens - w.longNewTokens, SEED_LONG);
        const endWindow = memory.window();
        const tl = performance.now();
        const t = await run(ctx.getSequence(), longPrompt, w.longNewTokens);
        longContext = longContextResult(w.longContextTokens, tl, t, longPrompt.length, endWindow());
      } finally {
        await ctx.dispose();
      }
    }
    const peaks = memory.stop();
    return {
      engine: 'llama',
      type: req.type,
      loadMs,
      decodeBandwidthGBs,
      warmupMs,
      ...rates,
      streams,
      ...processFigures(loadAtStart, cpuAtStart, faultsAfterWarmup),
      memory: peaks,
      // from the header only, after the measurement (llama.cpp reads the file's tensors as stored)
      decodeBytes: fileDecodeBytes(req.file),
      longContext,
      backend: `node-llama-cpp ${llamaVersion(llama)}`,
      notes: [],
    };
  } finally {
    await model.dispose();
    await llama.dispose();
  }
}

function llamaVersion(llama: Llama): string {
  const l = llama as unknown as { llamaCppRelease?: { release?: string }; cpuMathCores?: number };
  return `3.22.1, llama.cpp ${l.llamaCppRelease?.release ?? '?'}`;
}
