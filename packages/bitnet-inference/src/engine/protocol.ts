/**
 * The messages between InferenceEngine (main thread) and EngineWorker (the model thread).
 *
 * main → worker: `load` once, then any number of `start` / `cancel`, then `close`.
 * worker → main: `loaded` or `load-error`; per sequence any number of `progress` / `token`, then
 * exactly one `done` or `error`; after `close`, a `done` (cancelled) for every sequence still in
 * flight, then `closed`, and the worker exits by itself.
 */
import type { ModelConfig } from '@bitnet/models';
import type { PromptCacheStats } from '../cache/KvPrefixCache';
import type { FinishReason } from '../streaming/StreamBuffer';
import type { ScreenStats } from '../forward/OutputLogits';
import type { OutputType } from '../model/BitnetWeights';

/** Why the model thread ended a sequence (stop strings and errors are decided on the main thread). */
export type SequenceEnd = Exclude<FinishReason, 'stop_sequence' | 'error'>;

/** The reasons a stop id can carry. */
export type StopIdReason = Extract<FinishReason, 'eos' | 'end_of_turn' | 'stop_token'>;

/** Which kernels the model thread runs, and how many threads their pool has. */
export interface KernelSettings {
  mode: 'native' | 'ts' | 'auto';
  /** Threads of the native pool (the model thread included); undefined = one per core. */
  threads?: number;
}

/**
 * Test-only faults of one sequence, by its step number (0-based: prefill chunks and decode steps
 * count alike). Honoured only by a worker loaded with `faultInjection` (see src/testing).
 */
export interface FaultPlan {
  /** Steps that fail once with a transient error before running. */
  failSteps?: number[];
  /** Steps that first stall (busy) for stallMs. */
  stallSteps?: number[];
  stallMs?: number;
}

export interface WorkerLoadRequest {
  type: 'load';
  path: string;
  /** Most tokens one prefill step processes. */
  maxChunkTokens: number;
  /** Hold TQ1_0 matrices as TQ2_0 (LoadWeightsOptions.repackTq1_0). */
  repackTq1_0: boolean;
  /** How the output matrix is held (LoadWeightsOptions.outputType). */
  outputType: OutputType;
  /** Nice increment for the model thread and its kernel threads (EngineOptions.computeNice). */
  computeNice: number;
  kernels: KernelSettings;
  /** Accept `faults` on start requests (tests only). */
  faultInjection: boolean;
  /** Bytes of the prompt cache (EngineOptions.promptCacheMb; 0 = none). */
  promptCacheBytes: number;
}

/** The sampling fields of a GenerationConfig, as the model thread's Sampler takes them. */
export interface SamplingParams {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  /** Absent = 0. */
  presencePenalty?: number;
  /** Absent = 0. */
  frequencyPenalty?: number;
  /** Token id (decimal string) → bias in [-100, 100]; absent = none. */
  logitBias?: Readonly<Record<string, number>>;
  seed: number;
}

export interface WorkerStartRequest {
  type: 'start';
  seq: number;
  /** The ids to prefill: the prompt, then the `resumed` ids of a resumed generation. */
  promptIds: number[];
  /**
   * How many of promptIds (at its end) are ids an earlier run of this generation produced
   * (GenerateOptions.resume; default 0): the sampler replays them and they count towards
   * maxNewTokens, which stays the limit of the whole generation.
   */
  resumed?: number;
  maxNewTokens: number;
  sampling: SamplingParams;
  /** Ids that end generation, with the reason reported for each. */
  stopIds: Array<[number, StopIdReason]>;
  maxRetries: number;
  /** Ignored unless the worker was loaded with faultInjection. */
  faults?: FaultPlan;
  /**
   * Report each token's logprob and this many most likely alternatives (0..20; 0 = the chosen token's
   * logprob only); undefined = no logprobs (nothing is computed). See sampling/Logprobs.ts.
   */
  logprobs?: number;
  /**
   * GBNF text the output must follow (GenerateOptions.grammar, or a converted jsonSchema); checked on
   * the main thread, compiled and applied on the model thread (grammar/GrammarConstraint.ts).
   */
  grammar?: string;
}

export type MainToWorker = WorkerLoadRequest | WorkerStartRequest | { type: 'cancel'; seq: number } | { type: 'close' };

export interface WorkerLoaded {
  type: 'loaded';
  config: ModelConfig;
  kernels: string;
  isa: string;
  /** Threads of the kernel pool (1 for the TypeScript kernels). */
  threads: number;
  weightBytes: number;
  /** Of weightBytes, those read in place from the file's read-only mapping (0 with the TypeScript kernels). */
  mappedWeightBytes: number;
  /**
   * Weight bytes one decode step reads (BitnetWeights.decodeBytesPerToken): the layers, the output
   * norm and matrix as held, and one embedding row unless the table is the (tied) output matrix.
   */
  decodeBytesPerToken: number;
  /**
   * How the output matrix is held ('q8_0' only when it was re-encoded at load, 'screened' only when
   * the screen was built) and its type name.
   */
  outputType: OutputType;
  outputMatrixType: string;
  loadMs: number;
}

/** What the scheduler reports per sequence (everything the worker sends except load and close answers). */
export type SequenceMessage =
  /** A prefill chunk finished (keeps the step timer alive during long prompts). */
  | { type: 'progress'; seq: number; done: number; total: number }
  /**
   * `batch`: how many sequences the decode step that produced it ran (0 for a prompt's first token).
   * With `logprobs` in the start request: `logprob` (of `id`) and the most likely ids with theirs.
   */
  | { type: 'token'; seq: number; id: number; prefillMs?: number; batch: number; logprob?: number; topIds?: number[]; topLogprobs?: number[]; promptCache?: PromptCacheStats }
  /**
   * `maskMs`: with a grammar, the time spent masking logits; `cachedTokens`: prompt positions restored
   * from the prompt cache; `promptCache`: the cache's counters after this sequence (when there is one);
   * `outputScreen`: the output screen's counters after it (outputType 'screened').
   */
  | { type: 'done'; seq: number; reason: SequenceEnd; decodeMs: number; retries: number; maskMs?: number; cachedTokens?: number; promptCache?: PromptCacheStats; outputScreen?: ScreenStats }
  /** `kind: 'grammar'`: the sequence's grammar failed (invalid, too ambiguous, a dead end), not a step. */
  | { type: 'error'; seq: number; message: string; retries: number; kind?: 'grammar' };

export type WorkerToMain =
  | WorkerLoaded
  | { type: 'load-error'; message: string; name: string }
  /** While loading: bytes of tensor data read so far, of the file's total. */
  | { type: 'load-progress'; done: number; total: number } | SequenceMessage | { type: 'closed' };
