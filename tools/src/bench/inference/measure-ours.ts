/**
 * Measurement child for our engine: InferenceEngine on the native kernels (threads from
 * BITNET_THREADS, which the parent sets), prompts passed as token ids through startSequence.
 * Memory is sampled from the start; the long-context sequence (when asked) runs last. The engine
 * sizes each sequence's KV cache for its prompt plus maxNewTokens, so that sequence really holds
 * the whole context (4096 positions in the full workload).
 */
import * as os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { GENERATION_PRESETS, InferenceEngine, type OutputType, jsonSchemaToGbnf } from '@bitnet/inference';
import { MainGcRecorder } from './gc';
import { MemorySampler } from './memory';
import type { Workload } from './options';
import { bytesPerDecodeStep, kvBytesPerPosition, meanDecodePositions, type DecodeBytes } from './roofline';
import { BENCH_SCHEMA, ChatTurnResult, ChildRequest, ChildResult, ConstrainedResult, LongContextResult, SEED_CHAT, SEED_LONG, SEED_PROMPT, SEED_WARMUP, StreamsResult, cpuSnapshot, ELD_RESOLUTION_MS, longContextResult, majorFaults, processFigures, promptIds, singleStreamRates, streamSeed, streamsResult, settle, probeBandwidth, betterBandwidth, median, type PairedRoofline } from './workload';

interface Run {
  /** performance.now() at each token's arrival on the main thread. */
  times: number[];
  ids: number[];
  reason: string;
  doneAt: number;
  /** With a grammar: time the model thread spent masking. */
  maskMs?: number;
  /** Prompt positions restored from the prompt cache. */
  cachedTokens?: number;
}

/** Runs one sequence from ids to its end (greedy), constrained when `grammar` is given. */
function run(engine: InferenceEngine, ids: number[], maxNewTokens: number, grammar?: string): Promise<Run> {
  const { generation, streaming } = InferenceEngine.configs({ ...GENERATION_PRESETS.greedy, maxNewTokens });
  return new Promise((resolve, reject) => {
    const times: number[] = [];
    const out: number[] = [];
    engine.startSequence(ids, generation, streaming, {
      token: (id) => {
        times.push(performance.now());
        out.push(id);
      },
      done: (reason, _decodeMs, extra) => resolve({ times, ids: out, reason, doneAt: performance.now(), maskMs: extra?.maskMs, cachedTokens: extra?.cachedTokens }),
      error: reject,
    }, { grammar });
  });
}

/** Rounds of the paired roofline measurement and the size of each round's decode. */
const ROOFLINE_ROUNDS = 7;
const ROOFLINE_PROMPT_TOKENS = 8;
const ROOFLINE_NEW_TOKENS = 33;

/** See PairedRoofline: undefined without the bandwidth probe (no native addon). */
async function pairedRoofline(engine: InferenceEngine, bytes: DecodeBytes, file: string): Promise<PairedRoofline | undefined> {
  const rounds: PairedRoofline['rounds'] = [];
  const stepBytes = bytesPerDecodeStep(bytes, meanDecodePositions(ROOFLINE_PROMPT_TOKENS, ROOFLINE_NEW_TOKENS));
  for (let i = 0; i < ROOFLINE_ROUNDS; i++) {
    const before = probeBandwidth(file);
    const ts = performance.now();
    const r = await run(engine, promptIds(ROOFLINE_PROMPT_TOKENS, SEED_PROMPT + 1 + i), ROOFLINE_NEW_TOKENS);
    const after = probeBandwidth(file);
    if (before === undefined || after === undefined) return undefined;
    const tokS = singleStreamRates(ts, r.times, ROOFLINE_PROMPT_TOKENS).decode.tokS;
    const bandwidthGBs = (before + after) / 2;
    rounds.push({ bandwidthGBs, tokS, pct: (tokS / ((bandwidthGBs * 1e9) / stepBytes)) * 100 });
  }
  return { pct: median(rounds.map((r) => r.pct)), rounds, promptTokens: ROOFLINE_PROMPT_TOKENS, newTokens: ROOFLINE_NEW_TOKENS };
}

/**
 * Decode with and without BENCH_SCHEMA, each twice and alternating, on the single-stream prompt (a
 * constrained warm-up run first builds the vocabulary's mask trie, which happens once per engine): the
 * better constrained decode tok/s against the better unconstrained one measured beside it, so the
 * machine's bandwidth drift between the two cannot decide the share. Mask ms per token is the
 * constrained runs' mean.
 */
async function constrainedRun(engine: InferenceEngine, prompt: number[], newTokens: number): Promise<ConstrainedResult> {
  const grammar = jsonSchemaToGbnf(BENCH_SCHEMA);
  const tw = performance.now();
  await run(engine, promptIds(8, SEED_WARMUP), 2, grammar);
  const warmupMs = performance.now() - tw;
  let plainTokS = 0;
  let bestTokS = 0;
  let maskMs = 0;
  let tokens = 0;
  let last: Run | undefined;
  for (let round = 0; round < 2; round++) {
    const tp = performance.now();
    const plain = await run(engine, prompt, newTokens);
    plainTokS = Math.max(plainTokS, singleStreamRates(tp, plain.times, prompt.length).decode.tokS);
    const ts = performance.now();
    last = await run(engine, prompt, newTokens, grammar);
    bestTokS = Math.max(bestTokS, singleStreamRates(ts, last.times, prompt.length).decode.tokS);
    maskMs += last.maskMs ?? NaN;
    tokens += last.times.length;
  }
  const r = last as Run;
  return {
    tokens: r.times.length,
    reason: r.reason,
    decodeTokS: bestTokS,
    unconstrainedTokS: plainTokS,
    maskMsPerToken: maskMs / tokens,
    pctOfUnconstrained: (bestTokS / plainTokS) * 100,
    firstUseMs: warmupMs,
  };
}

/**
 * Issue 18's multi-turn chat at the id level: turn 1's prompt, then each turn's prompt is the previous
 * one + its reply's ids + a new user message (ordinary vocabulary ids); greedy replies. Time to first
 * token per turn, from submission: with no prompt cache, every turn prefills the whole conversation.
 */
/** Megabytes of the prompt cache of the chat's cached run (the whole 842-token conversation takes ~65 MB). */
const CHAT_PROMPT_CACHE_MB = 256;

async function chatRun(engine: InferenceEngine, c: Workload['chat']): Promise<ChatTurnResult[]> {
  let prompt = promptIds(c.firstPromptTokens, SEED_CHAT);
  const turns: ChatTurnResult[] = [];
  for (let t = 1; t <= c.turns; t++) {
    const ts = performance.now();
    const r = await run(engine, prompt, c.replyTokens);
    turns.push({ turn: t, promptTokens: prompt.length, ttftMs: r.times[0] - ts, cachedTokens: r.cachedTokens ?? 0 });
    prompt = [...prompt, ...r.ids, ...promptIds(c.userTokens + 1, SEED_CHAT + t).slice(1)];
  }
  return turns;
}

export async function measureOurs(req: ChildRequest): Promise<ChildResult> {
  const w = req.workload;
  const loadAtStart = os.loadavg()[0];
  const cpuAtStart = cpuSnapshot();
  const memory = new MemorySampler();
  const notes: string[] = [];
  const early = (what: string, r: Run, want: number) => {
    // The engine always stops at end-of-generation ids (it has no "ignore EOS" option); say so when it happens.
    if (r.times.length < want) notes.push(`${what}: stopped after ${r.times.length} of ${want} tokens (${r.reason})`);
  };

  const t0 = performance.now();
  const outputType: OutputType = req.engine === 'ours-q8' ? 'q8_0' : req.engine === 'ours-screened' ? 'screened' : 'exact';
  const engine = await InferenceEngine.load(req.file, { kernels: 'native', computeNice: req.computeNice, outputType });
  const loadMs = performance.now() - t0;
  try {
    const tw = performance.now();
    await run(engine, promptIds(8, SEED_WARMUP), 2);
    const warmupMs = performance.now() - tw;
    const faultsAfterWarmup = majorFaults();
    await settle(req.settleMs);

    // The streams first: the bandwidth probes of the single-stream run allocate and free 1 GiB, and
    // on this VM the host reclaims freed guest memory every ~2 s for a while afterwards, which stalls
    // the process's threads (main-thread timer delays of 10–40 ms in step with it; none without the
    // probes). The event-loop figures are the 8-stream rows', so nothing large is freed before them.
    const streams: StreamsResult[] = [];
    for (const n of w.streamCounts) {
      const prompts = Array.from({ length: n }, (_, i) => promptIds(w.streamPromptTokens, streamSeed(n, i)));
      const before = engine.schedulingStats;
      const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
      eld.enable();
      const gc = new MainGcRecorder();
      const start = performance.now();
      const runs = await Promise.all(prompts.map((p) => run(engine, p, w.streamNewTokens)));
      const wallMs = Math.max(...runs.map((r) => r.doneAt)) - start;
      eld.disable();
      const mainGc = gc.stop();
      const after = engine.schedulingStats;
      runs.forEach((r, i) => early(`${n} streams, stream ${i}`, r, w.streamNewTokens));
      const total = runs.reduce((s, r) => s + r.times.length, 0);
      const steps = after.decodeSteps - before.decodeSteps;
      const batch = { mean: steps > 0 ? (after.decodeTokens - before.decodeTokens) / steps : 0, max: after.maxDecodeBatch };
      streams.push(streamsResult(n, w, total, wallMs, batch, eld, mainGc));
    }

    const prompt = promptIds(w.promptTokens, SEED_PROMPT);
    const bwBefore = memory.excluding(() => probeBandwidth(req.file));
    const ts = performance.now();
    const single = await run(engine, prompt, w.newTokens);
    const decodeBandwidthGBs = betterBandwidth(bwBefore, memory.excluding(() => probeBandwidth(req.file)));
    early('single stream', single, w.newTokens);
    const rates = singleStreamRates(ts, single.times, prompt.length);

    const chatOff = req.chat ? await chatRun(engine, w.chat) : undefined;

    let longContext: LongContextResult | undefined;
    if (req.longContext) {
      const longPrompt = promptIds(w.longContextTokens - w.longNewTokens, SEED_LONG);
      const endWindow = memory.window();
      const tl = performance.now();
      const long = await run(engine, longPrompt, w.longNewTokens);
      early('long context', long, w.longNewTokens);
      longContext = longContextResult(w.longContextTokens, tl, long.times, longPrompt.length, endWindow());
    }
    // Last, after memory sampling stops: the first constrained sequence builds the vocabulary's grammar
    // view on the model thread (~100 MB more resident memory for LLaMA-3's vocabulary), which the
    // memory figures of the unconstrained engine must not count.
    const memoryPeaks = memory.stop();
    const constrained = await constrainedRun(engine, prompt, w.newTokens);
    const c = engine.model.config;
    const decodeBytes = { weightBytesPerToken: engine.loadInfo.decodeBytesPerToken, kvBytesPerPosition: kvBytesPerPosition(c) };
    const paired = await pairedRoofline(engine, decodeBytes, req.file);
    if (constrained.tokens < w.newTokens) notes.push(`constrained run: stopped after ${constrained.tokens} of ${w.newTokens} tokens (${constrained.reason})`);
    const result: ChildResult = {
      engine: req.engine,
      type: req.type,
      loadMs,
      decodeBandwidthGBs,
      warmupMs,
      ...rates,
      chat: chatOff,
      constrained,
      streams,
      ...processFigures(loadAtStart, cpuAtStart, faultsAfterWarmup),
      memory: memoryPeaks,
      decodeBytes,
      pairedRoofline: paired,
      longContext,
      backend: `${engine.loadInfo.kernels} kernels, ISA ${engine.loadInfo.isa}${req.computeNice !== undefined ? `, computeNice ${req.computeNice}` : ''}${outputType === 'q8_0' ? ', Q8_0 output matrix' : outputType === 'screened' ? ', output matrix screened by an int8 copy' : ''}`,
      notes,
    };
    // The chat again on an engine with a prompt cache, after this one is closed (two engines' thread
    // pools would share the cores) and after memory sampling (the cache takes memory by design).
    await engine.close();
    if (chatOff) result.chat = await cachedChat(req, outputType, chatOff);
    return result;
  } finally {
    await engine.close();
  }
}

/** The chat's turns with the TTFT and restored tokens of the same chat on an engine with a prompt cache. */
async function cachedChat(req: ChildRequest, outputType: OutputType, off: ChatTurnResult[]): Promise<ChatTurnResult[]> {
  const cached = await InferenceEngine.load(req.file, { kernels: 'native', computeNice: req.computeNice, outputType, promptCacheMb: CHAT_PROMPT_CACHE_MB });
  try {
    await run(cached, promptIds(8, SEED_WARMUP), 2);
    const on = await chatRun(cached, req.workload.chat);
    return off.map((t, i) => ({ ...t, cachedTtftMs: on[i].ttftMs, cachedTokens: on[i].cachedTokens }));
  } finally {
    await cached.close();
  }
}
