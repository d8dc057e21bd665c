import { requestedKernelMode } from '@bitnet/kernels';
import { checkKnownKeys } from '../errors/checkKeys';
import { ConfigError } from '../errors/InferenceError';
import { OUTPUT_TYPES, OUTPUT_TYPE_NAMES, type OutputType } from '../model/BitnetWeights';
import { describeValue } from '@bitnet/models';

/** EngineOptions.computeNice when it is not given. */
export const DEFAULT_COMPUTE_NICE = 5;

/** How `InferenceEngine.load` loads and runs a model; unknown keys are `ConfigError`s. */
export interface EngineOptions {
  /** Most prompt tokens one prefill step processes (default 64). */
  maxChunkTokens?: number;
  /** Kernels for the model thread: 'native' | 'ts' | 'auto' (default: BITNET_KERNELS or auto). */
  kernels?: 'native' | 'ts' | 'auto';
  /**
   * Threads of the native kernel pool, the model thread included (default: BITNET_THREADS, else one
   * per core). The pool is shared by the whole process: an engine loaded with `threads` resizes it
   * for every engine of the process; `loadInfo.threads` reports its size at load.
   */
  threads?: number;
  /** Hold TQ1_0 weights in the faster 2-bit TQ2_0 layout (default true; see LoadWeightsOptions). */
  repackTq1_0?: boolean;
  /**
   * 'q8_0': hold an F32/F16/BF16 output (logits) matrix as Q8_0, re-encoded at load — about half the
   * bytes read per token for a small loss of exactness (see LoadWeightsOptions.outputType; a tied
   * embedding is then looked up in the same copy). 'screened': keep the exact matrix and add an int8
   * copy with per-row error bounds (private memory: about half the F16 matrix): a greedy sequence
   * (no penalty, bias, grammar or logprobs) then gets the very tokens of 'exact' while each step reads
   * the int8 copy and a few exact rows (see LoadWeightsOptions.outputType); other sequences read the
   * exact matrix as with 'exact'. Default 'exact'.
   */
  outputType?: OutputType;
  /**
   * Lowers the scheduling priority of the model thread and the native kernel threads by this many
   * nice steps (0..19, Linux: per thread; default 5), so that the caller's event loop answers at once
   * while every core computes tokens (the bench measured a 20 ms stall at 0 with 8 streams on 2
   * cores); throughput is unchanged when nothing else runs. 0 keeps the caller's priority.
   */
  computeNice?: number;
  /**
   * Called while the model thread reads the weights, with the bytes of tensor data read so far and
   * the file's total (a few calls per layer at most; the last one has done = total).
   */
  onProgress?: (done: number, total: number) => void;
  /**
   * Megabytes of the prompt cache (default 0: none), which is then all of the engine's KV memory:
   * every sequence's keys and values live in blocks of 64 positions of it, and the blocks of processed
   * prompts and replies stay indexed by their ids, so a later prompt that starts with the same ids (a
   * chat's next turn, a shared system prompt) reads them in place instead of computing them. Results
   * are identical with and without it. A sequence gets its blocks when it starts (cached blocks nobody
   * holds are evicted, least recently used first); when they cannot be had it waits for running
   * sequences to end. Never less than one whole context's worth; pages are touched as blocks are used.
   */
  promptCacheMb?: number;
}

const ENGINE_OPTION_KEYS: readonly (keyof EngineOptions)[] = ['maxChunkTokens', 'kernels', 'threads', 'repackTq1_0', 'outputType', 'computeNice', 'onProgress', 'promptCacheMb'];

/** Internal load settings (tests reach them through src/testing, never through EngineOptions). */
export interface EngineInternals {
  faultInjection?: boolean;
}

/** Validates the options `InferenceEngine.load` was given: ConfigError on the first bad one. */
export function checkEngineOptions(options: EngineOptions): { outputType: OutputType; nice: number } {
  checkKnownKeys(options, ENGINE_OPTION_KEYS, 'EngineOptions');
  const nice = options.computeNice ?? DEFAULT_COMPUTE_NICE;
  const outputType = options.outputType ?? 'exact';
  if (!OUTPUT_TYPES.includes(outputType)) throw new ConfigError('outputType', OUTPUT_TYPE_NAMES);
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new ConfigError('computeNice', 'an integer from 0 to 19');
  const t = options.threads;
  if (t !== undefined && (!Number.isInteger(t) || t < 1 || t > 256)) throw new ConfigError('threads', `must be an integer from 1 to 256, got ${describeValue(t)}`);
  const k = options.kernels;
  if (k !== undefined && k !== 'native' && k !== 'ts' && k !== 'auto') throw new ConfigError('kernels', `must be 'native', 'ts' or 'auto', got ${describeValue(k)}`);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw new ConfigError('onProgress', 'must be a function');
  const mb = options.promptCacheMb;
  if (mb !== undefined && (typeof mb !== 'number' || !Number.isFinite(mb) || mb < 0 || mb > 1 << 20)) throw new ConfigError('promptCacheMb', `must be a number of megabytes from 0 to ${1 << 20}, got ${describeValue(mb)}`);
  const chunk = options.maxChunkTokens;
  if (chunk !== undefined && (!Number.isInteger(chunk) || chunk < 1)) throw new ConfigError('maxChunkTokens', `must be a positive integer, got ${describeValue(chunk)}`);
  return { outputType, nice };
}

/** The kernel mode from the option, else BITNET_KERNELS (read here, once, on the main thread, by @bitnet/kernels' own parser). */
export function kernelMode(option: EngineOptions['kernels']): 'native' | 'ts' | 'auto' {
  if (option) return option;
  try {
    return requestedKernelMode();
  } catch (e) {
    throw new ConfigError('kernels', (e as Error).message);
  }
}

