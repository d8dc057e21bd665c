/** Messages between InferenceEngine (main thread) and EngineWorker (worker thread). */
import type { ModelConfig } from '@bitnet/models';

export interface WorkerLoadRequest {
  type: 'load';
  path: string;
  /** Most tokens one prefill step processes. */
  maxChunkTokens: number;
  /** Hold TQ1_0 matrices as TQ2_0 (LoadWeightsOptions.repackTq1_0). */
  repackTq1_0: boolean;
  /** How the output matrix is held (LoadWeightsOptions.outputType). */
  outputType: 'exact' | 'q8_0';
  /** Nice increment for the model thread and its kernel threads (EngineOptions.computeNice). */
  computeNice: number;
  /** BITNET_KERNELS for the worker ('auto' | 'native' | 'ts'). */
  kernels?: string;
}

export interface SamplingParams {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  seed: number;
}

export interface WorkerStartRequest {
  type: 'start';
  seq: number;
  promptIds: number[];
  maxNewTokens: number;
  sampling: SamplingParams;
  /** Ids that end generation, with the reason reported for each. */
  stopIds: Array<[number, 'eos' | 'end_of_turn' | 'stop_token']>;
  maxRetries: number;
  /** Test hook: the step numbers (0-based, per sequence) that fail once with a transient error. */
  failSteps?: number[];
  /** Test hook: the step numbers that first stall (busy) for stallMs. */
  stallSteps?: number[];
  stallMs?: number;
}

export type MainToWorker = WorkerLoadRequest | WorkerStartRequest | { type: 'cancel'; seq: number } | { type: 'close' };

export interface WorkerLoaded {
  type: 'loaded';
  config: ModelConfig;
  kernels: string;
  isa: string;
  weightBytes: number;
  /** How the output matrix is held ('q8_0' only when it was re-encoded at load) and its type name. */
  outputType: 'exact' | 'q8_0';
  outputMatrixType: string;
  loadMs: number;
}

export type WorkerToMain =
  | WorkerLoaded
  | { type: 'load-error'; message: string; name: string }
  /** A prefill chunk finished (keeps the step timer alive during long prompts). */
  | { type: 'progress'; seq: number; done: number; total: number }
  /** `batch`: how many sequences the decode step that produced it ran (0 for a prompt's first token). */
  | { type: 'token'; seq: number; id: number; prefillMs?: number; batch: number }
  | { type: 'done'; seq: number; reason: 'eos' | 'end_of_turn' | 'stop_token' | 'max_tokens' | 'cancelled'; decodeMs: number; retries: number }
  | { type: 'error'; seq: number; message: string; retries: number }
  | { type: 'closed' };
