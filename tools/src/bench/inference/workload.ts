/**
 * What a measurement child is asked to do and what it reports, plus the prompts: fixed token ids
 * (BOS, then a seeded pseudo-random run of ordinary LLaMA-3 vocabulary ids), handed as ids to both
 * engines so they read exactly the same tokens.
 */
import * as fs from 'node:fs';
import { defaultModeAddon } from '@bitnet/kernels/testing';
import * as os from 'node:os';
import type { MainGcSummary } from './gc';
import type { MemoryPeaks } from './memory';
import type { Engine, ModelType, Workload } from './options';
import type { DecodeBytes } from './roofline';

export interface ChildRequest {
  engine: Engine;
  type: ModelType;
  file: string;
  threads: number;
  /** Ours only: EngineOptions.computeNice. */
  computeNice?: number;
  workload: Workload;
  /** Also run the long-context sequence (Workload.longContextTokens). */
  longContext: boolean;
  /** Also run the multi-turn chat (Workload.chat); ours only. */
  chat?: boolean;
  /** Milliseconds to wait after the warm-up, before the stream rows (see SETTLE_MS); 0 or absent: none. */
  settleMs?: number;
}

/**
 * A pause before a measurement process starts and again before its stream rows. Memory a process
 * has just freed (the previous measurement's at its exit, the parent's 1 GiB bandwidth probe, the
 * temporaries of a load that repacks or re-encodes weights) is handed back to the host by this VM's
 * balloon driver (free page reporting, every ~2 s) for a while after, and meanwhile the threads of a
 * running process stall now and then: 8–40 ms main-thread timer delays while 8 streams ran right
 * after a 1 GiB allocation was freed, in this process or another; none without. The event-loop
 * figures are the stream rows', so they start after the machine has settled.
 */
export const SETTLE_MS = 15_000;

/** Waits `ms` (nothing for 0 or undefined). */
export function settle(ms: number | undefined): Promise<void> {
  return ms ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

export interface StreamsResult {
  streams: number;
  promptTokensEach: number;
  newTokensEach: number;
  /** New tokens actually produced by all streams. */
  totalNewTokens: number;
  /** Submit to the last stream's completion. */
  wallMs: number;
  aggregateTokS: number;
  /** Sequences per batched decode call (ours: the engine's scheduling counters; llama.cpp: counted at its decode calls). */
  meanDecodeBatch: number;
  maxDecodeBatch: number;
  /** Main-thread event-loop delay while the streams ran: see eventLoopDelay. */
  /** Lateness of a 10 ms timer on the main thread (reading − resolution), and the raw reading. */
  eventLoop: { maxMs: number; p99Ms: number; meanMs: number; rawMaxMs?: number; resolutionMs?: number };
  /** The main thread's garbage collections while the streams ran (absent in older results). */
  mainGc?: MainGcSummary;
}

/**
 * The JSON schema of the constrained-decode measurement: every kind of grammar state (literal keys,
 * integers, bounded strings, an enum, arrays of objects with a lower bound so a greedy run keeps going).
 */
export const BENCH_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    name: { type: 'string', maxLength: 48 },
    kind: { enum: ['person', 'place', 'thing'] },
    tags: { type: 'array', items: { type: 'string', maxLength: 16 }, maxItems: 8 },
    records: {
      type: 'array',
      minItems: 40,
      maxItems: 64,
      items: { type: 'object', properties: { at: { type: 'integer' }, note: { type: 'string', maxLength: 32 }, ok: { type: 'boolean' } }, required: ['at', 'note', 'ok'] },
    },
  },
  required: ['id', 'name', 'kind', 'tags', 'records'],
} as const;

/** Ours only: the single-stream decode again, constrained by BENCH_SCHEMA, beside unconstrained runs. */
export interface ConstrainedResult {
  tokens: number;
  reason: string;
  /** The better of two constrained runs. */
  decodeTokS: number;
  /** The better of the two unconstrained runs alternating with them (the share's base). */
  unconstrainedTokS: number;
  /** Time the model thread spent computing and applying masks, per generated token. */
  maskMsPerToken: number;
  /** decodeTokS as a share of unconstrainedTokS. */
  pctOfUnconstrained: number;
  /** The warm-up constrained run (builds the vocabulary's mask trie, once per engine). */
  firstUseMs: number;
}

/** One turn of the multi-turn chat: its prompt (the whole conversation so far) and time to first token. */
export interface ChatTurnResult {
  turn: number;
  promptTokens: number;
  /** Without a prompt cache. */
  ttftMs: number;
  /** The same turn on an engine with a prompt cache, and the prompt tokens it restored. */
  cachedTtftMs?: number;
  cachedTokens?: number;
}

export interface ChildResult {
  engine: Engine;
  type: ModelType;
  /** Start until ready to generate (ours: InferenceEngine.load; llama.cpp: loadModel + createContext). */
  loadMs: number;
  /** A short generation run before the measurements (pages in weights, starts thread pools). */
  warmupMs: number;
  prefill: { promptTokens: number; ttftMs: number; tokS: number };
  decode: { tokens: number; ms: number; tokS: number };
  /** Ours, exact engine, when asked: the multi-turn chat, one entry per turn, without and with a prompt cache. */
  chat?: ChatTurnResult[];
  /** Ours only: decode with a JSON schema (see ConstrainedResult). */
  constrained?: ConstrainedResult;
  streams: StreamsResult[];
  /**
   * Memory of the child over the whole measurement (load included), sampled from /proc/self/status:
   * peak RSS (at least VmHWM), the file-backed part at that peak, the peak private set.
   */
  memory: MemoryPeaks;
  /** What a decode step reads (ours: from the engine's load info; llama.cpp: from the file's header); undefined when unknown. */
  decodeBytes?: DecodeBytes;
  /**
   * Read bandwidth probed in this process right before the single-stream run and right after it (the
   * larger of the two): the bandwidth the decode had, on a machine whose bandwidth drifts. The roofline
   * uses it when present.
   */
  decodeBandwidthGBs?: number;
  /** Ours: the decode roofline share measured in short rounds, each between two bandwidth probes (see PairedRoofline). */
  pairedRoofline?: PairedRoofline;
  /** The long-context run, when asked for. */
  longContext?: LongContextResult;
  /** Kernel ISA (ours) or the llama.cpp CPU build that was loaded. */
  backend: string;
  /** One-minute load average of the machine when the child started and when it ended (other work on the cores shows here). */
  loadAverage: [number, number];
  /**
   * CPU time other processes (and the hypervisor: steal) took from the machine while this child ran,
   * as a share of all its cores' time: how much the measurement was disturbed. NaN without /proc/stat.
   */
  contention: { othersPct: number; stealPct: number };
  /** Major page faults (pages read from disk) of the child after the warm-up: mapped weights the OS had dropped. */
  majorFaults: number;
  /** Things the reader should know (e.g. a stream that stopped at an end-of-generation token). */
  notes: string[];
}

/** One sequence filling the context: its prompt is the context minus the new tokens. */
export interface LongContextResult {
  /** Positions the sequence reaches (prompt + new tokens asked for). */
  contextTokens: number;
  promptTokens: number;
  /** New tokens produced (fewer than asked when an end-of-generation id stopped it). */
  newTokens: number;
  ttftMs: number;
  prefillTokS: number;
  decodeTokS: number;
  /** Memory peaks while it ran (the private one is what the private-memory target reads). */
  memory: MemoryPeaks;
}

export const BOS_ID = 128000;
/** Ordinary (non-special) ids of the LLaMA-3 vocabulary are 0..127999; stay clear of the byte tokens at the start. */
const ID_LOW = 256;
const ID_HIGH = 128000;

/** A small seeded generator (xorshift32): the same seed gives the same ids on every machine. */
function xorshift32(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** `length` prompt ids: BOS, then pseudo-random ordinary ids from this seed. */
export function promptIds(length: number, seed: number): number[] {
  if (!Number.isInteger(length) || length < 1) throw new Error(`prompt length must be a positive integer, got ${length}`);
  const next = xorshift32(seed * 2654435761 + 1);
  const ids = [BOS_ID];
  while (ids.length < length) ids.push(ID_LOW + (next() % (ID_HIGH - ID_LOW)));
  return ids;
}

/** Seeds: the warm-up prompt, the single-stream prompt, the long-context prompt, and stream i of the concurrent runs. */
export const SEED_WARMUP = 7;
export const SEED_PROMPT = 1;
export const SEED_LONG = 3;
/** Seed of the chat's user messages (turn t uses SEED_CHAT + t). */
export const SEED_CHAT = 11;
export const streamSeed = (streams: number, i: number) => 1000 * streams + i;

/** Rates from the arrival times of one sequence's tokens (first token ends the prefill). */
export function singleStreamRates(startMs: number, tokenTimes: number[], promptTokens: number): Pick<ChildResult, 'prefill' | 'decode'> {
  if (tokenTimes.length === 0) throw new Error('the single-stream run produced no token');
  const ttftMs = tokenTimes[0] - startMs;
  const decodeTokens = tokenTimes.length - 1;
  const decodeMs = tokenTimes[tokenTimes.length - 1] - tokenTimes[0];
  return {
    prefill: { promptTokens, ttftMs, tokS: (promptTokens / ttftMs) * 1000 },
    decode: { tokens: decodeTokens, ms: decodeMs, tokS: decodeMs > 0 ? (decodeTokens / decodeMs) * 1000 : 0 },
  };
}

/** The long-context figures from one sequence's token times (see singleStreamRates) and its memory window. */
export function longContextResult(contextTokens: number, startMs: number, tokenTimes: number[], promptTokens: number, memory: MemoryPeaks): LongContextResult {
  const r = singleStreamRates(startMs, tokenTimes, promptTokens);
  return { contextTokens, promptTokens, newTokens: tokenTimes.length, ttftMs: r.prefill.ttftMs, prefillTokS: r.prefill.tokS, decodeTokS: r.decode.tokS, memory };
}

export const ms = (ns: number) => ns / 1e6;

export const majorFaults = () => process.resourceUsage().majorPageFault;

/** Busy and steal jiffies of the whole machine (/proc/stat), this process's CPU time and the clock. */
export interface CpuSnapshot {
  busy: number;
  steal: number;
  ownUs: number;
  at: number;
}

const USER_HZ = 100;

export function cpuSnapshot(): CpuSnapshot {
  let busy = NaN;
  let steal = NaN;
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...
    busy = f[0] + f[1] + f[2] + f[5] + f[6];
    steal = f[7];
  } catch {
    // not Linux
  }
  const u = process.cpuUsage();
  return { busy, steal, ownUs: u.user + u.system, at: performance.now() };
}

/** Shares of all cores' time since `start` used by other processes and lost to steal, in percent. */
export function contentionSince(start: CpuSnapshot, cores: number): { othersPct: number; stealPct: number } {
  const end = cpuSnapshot();
  const capacity = ((end.at - start.at) / 1000) * cores;
  const ownSeconds = (end.ownUs - start.ownUs) / 1e6;
  const others = (end.busy - start.busy) / USER_HZ - ownSeconds;
  return { othersPct: Math.max(0, (others / capacity) * 100), stealPct: ((end.steal - start.steal) / USER_HZ / capacity) * 100 };
}

/** Timer interval of the event-loop delay monitor (monitorEventLoopDelay's resolution). */
export const ELD_RESOLUTION_MS = 10;

/**
 * The event-loop figures of a monitorEventLoopDelay histogram. Node records each whole timer interval
 * (an idle loop reads about the resolution), so the delay is the reading minus the resolution: how
 * late the timer fired because the loop was busy.
 */
export function eventLoopDelay(h: { max: number; mean: number; percentile(p: number): number }): StreamsResult['eventLoop'] {
  const late = (ns: number): number => Math.max(0, ns / 1e6 - ELD_RESOLUTION_MS);
  return { maxMs: late(h.max), p99Ms: late(h.percentile(99)), meanMs: late(h.mean), rawMaxMs: h.max / 1e6, resolutionMs: ELD_RESOLUTION_MS };
}

/** One aggregate run of `n` streams as the report reads it. */
export function streamsResult(
  n: number,
  w: Pick<Workload, 'streamPromptTokens' | 'streamNewTokens'>,
  totalNewTokens: number,
  wallMs: number,
  batch: { mean: number; max: number },
  eld: Parameters<typeof eventLoopDelay>[0],
  mainGc?: MainGcSummary,
): StreamsResult {
  return {
    streams: n,
    promptTokensEach: w.streamPromptTokens,
    newTokensEach: w.streamNewTokens,
    totalNewTokens,
    wallMs,
    aggregateTokS: (totalNewTokens / wallMs) * 1000,
    meanDecodeBatch: batch.mean,
    maxDecodeBatch: batch.max,
    eventLoop: eventLoopDelay(eld),
    mainGc,
  };
}

/** The process figures a measurement child ends with, against the load and CPU times it started with
 *  and its major faults after the warm-up. */
export function processFigures(loadAtStart: number, cpuAtStart: CpuSnapshot, faultsAfterWarmup: number): Pick<ChildResult, 'majorFaults' | 'loadAverage' | 'contention'> {
  return {
    majorFaults: majorFaults() - faultsAfterWarmup,
    loadAverage: [loadAtStart, os.loadavg()[0]],
    contention: contentionSince(cpuAtStart, os.cpus().length),
  };
}

/** Bytes one probe reads; a file smaller than PROBE_MIN_BYTES (not ≫ the L3) is not used. */
const PROBE_BYTES = 1 << 30;
const PROBE_MIN_BYTES = 256 << 20;

/**
 * This process's read bandwidth in GB/s (our native pool, 2 passes, the better one), or undefined
 * without the native addon. Call only while no generation runs (it uses the kernel pool).
 *
 * With `file` (the model being measured) it reads up to 1 GiB of that file, mapped for the probe: the
 * engine's weights already hold those pages in the page cache, so nothing is allocated or freed. A fresh 1 GiB
 * buffer per probe (the fallback) has to be faulted in and is then freed, and on these VMs the host
 * takes freed guest memory back in ~2 s rounds for minutes afterwards: probes of 0.3–3.3 s instead of
 * ~50 ms, and 10–30 ms stalls of every thread of the process in step with the rounds (the 8-stream
 * rows' event-loop maxima). Reading the weights' own pages also measures what a decode step reads.
 */
export function probeBandwidth(file?: string): number | undefined {
  const addon = defaultModeAddon();
  if (!addon) return undefined;
  try {
    const size = file === undefined ? 0 : fs.statSync(file).size;
    if (size >= PROBE_MIN_BYTES) return addon.readBandwidth(Math.min(PROBE_BYTES, Math.floor(size / 4096) * 4096), 2, file);
    return addon.readBandwidth(PROBE_BYTES, 2);
  } catch {
    return undefined;
  }
}

/**
 * The decode roofline share measured where the bandwidth is probed: rounds of (probe, a short greedy
 * decode, probe), each round's share being its decode tok/s against the mean of its two probes over
 * the bytes one of its steps reads; the median round is the figure. The machine's bandwidth drifts
 * by tens of percent within minutes, so a share against probes taken seconds away from the decode
 * says more about the drift than about the decode.
 */
export interface PairedRoofline {
  /** Median of the rounds' shares, %. */
  pct: number;
  /** Per round: the mean of its two probes (GB/s), its decode tok/s, its share (%). */
  rounds: Array<{ bandwidthGBs: number; tokS: number; pct: number }>;
  /** Prompt and new tokens of each round's decode. */
  promptTokens: number;
  newTokens: number;
}

/** The median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The larger of two probes, ignoring a missing one. */
export function betterBandwidth(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}
