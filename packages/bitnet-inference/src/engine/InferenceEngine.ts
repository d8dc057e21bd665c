import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { requestedKernelMode } from '@bitnet/kernels';
import { type ChatFormat, GgufFile, type ModelConfig, type ModelSummary, type Tokenizer, createTokenizer, selectChatFormat, summarizeGguf } from '@bitnet/models';
import { GenerationConfig, generationConfig } from '../config/GenerationConfig';
import { StreamingConfig, streamingConfig } from '../config/StreamingConfig';
import { checkKnownKeys } from '../errors/checkKeys';
import { ConfigError, ContextOverflowError, InferenceError } from '../errors/InferenceError';
import { checkLogprobs } from '../sampling/Logprobs';
import { defaultModelPath } from './DefaultModel';
import { type GenerateOptions, type GenerationResult, type GenerationStream, type Prompt, collectGeneration, startGeneration } from './Generation';
import type { FaultPlan, MainToWorker, StopIdReason, WorkerLoaded, WorkerToMain } from './protocol';
import type { PromptCacheStats } from '../cache/KvPrefixCache';
import { GrammarError } from '../grammar/GrammarError';
import type { SequenceHost, SequenceListener, SequenceOptions } from './types';

export type { SequenceListener, SequenceOptions } from './types';

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
   * embedding is then looked up in the same copy). Default 'exact'.
   */
  outputType?: 'exact' | 'q8_0';
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

/** What the engine loaded: read once from the GGUF header on the main thread. */
export interface ModelInfo {
  /** Absolute path of the file. */
  path: string;
  /** general.name, or the file name without .gguf. */
  name: string;
  /** The architecture as the file names it. */
  architecture: string;
  /** GGML type of the projection matrices (or 'mixed'). */
  quantization: string;
  parameters: number;
  contextLength: number;
  vocabSize: number;
  fileBytes: number;
  tiedOutput: boolean;
  /**
   * The chat format used with this model: the one the metadata asks for when the vocabulary has its
   * special tokens, else 'plain' (see `selectChatFormat` in @bitnet/models).
   */
  chatFormat: ChatFormat;
  /** Special token ids (undefined when the vocabulary has none); endOfGeneration: every id that ends a generation. */
  special: { bos?: number; eos?: number; eot?: number; endOfGeneration: readonly number[]; addBos: boolean };
  config: ModelConfig;
  summary: ModelSummary;
}

/** What the model thread reports after loading it. */
export type EngineLoadInfo = Omit<WorkerLoaded, 'type' | 'config'>;

/** See InferenceEngine.schedulingStats. */
export interface EngineSchedulingStats {
  /** Batched decode steps run (each produces one token for every sequence in it). */
  decodeSteps: number;
  decodeTokens: number;
  maxDecodeBatch: number;
}

/** Internal load settings (tests reach them through src/testing, never through EngineOptions). */
export interface EngineInternals {
  faultInjection?: boolean;
}

/** Where the compiled worker lives: beside this file once built, or in dist when run from sources (tests). */
function workerPath(): string {
  const beside = path.join(__dirname, 'EngineWorker.js');
  if (fs.existsSync(beside)) return beside;
  const built = path.resolve(__dirname, '../../dist/engine/EngineWorker.js');
  if (fs.existsSync(built)) return built;
  throw new InferenceError('model_load', `the engine worker script is missing (looked for ${beside} and ${built}); build @bitnet/inference first`);
}

const closedError = () => new InferenceError('engine_closed', 'the engine is closed', ['load the engine again']);

/** Reads the header once: tokenizer, summary, chat format. Every failure is a model_load InferenceError. */
/**
 * The ids that end a generation and the finish reason each gives: the config's stop ids, then the
 * tokenizer's end-of-generation ids (which win where both name an id). What the model thread stops on.
 */
export function stopIdReasons(tokenizer: Tokenizer, stopTokenIds: readonly number[]): Map<number, StopIdReason> {
  const reasons = new Map<number, StopIdReason>();
  for (const id of stopTokenIds) reasons.set(id, 'stop_token');
  for (const id of tokenizer.endOfGenerationIds) reasons.set(id, id === tokenizer.eosId ? 'eos' : 'end_of_turn');
  return reasons;
}

function readModel(resolved: string): { tokenizer: Tokenizer; model: ModelInfo } {
  if (!fs.existsSync(resolved)) throw new InferenceError('model_load', `no model file at ${resolved}`, ['check the path']);
  let file: GgufFile;
  try {
    file = GgufFile.open(resolved);
  } catch (e) {
    throw new InferenceError('model_load', `cannot read ${resolved}: ${(e as Error).message}`, ['check the file with `bitnet-gguf info`'], { cause: e });
  }
  try {
    const summary = summarizeGguf(file, resolved);
    const tokenizer = createTokenizer(file.metadata);
    const base = path.basename(resolved).replace(/\.gguf$/i, '');
    const c = summary.config;
    const model: ModelInfo = {
      path: resolved,
      name: c.name ?? base,
      architecture: c.architectureName,
      quantization: summary.projectionType,
      parameters: summary.parameters,
      contextLength: c.contextLength,
      vocabSize: c.vocabSize,
      fileBytes: summary.fileBytes,
      tiedOutput: summary.tiedOutput,
      chatFormat: selectChatFormat(file.metadata, tokenizer),
      special: { bos: tokenizer.bosId, eos: tokenizer.eosId, eot: tokenizer.eotId, endOfGeneration: tokenizer.endOfGenerationIds, addBos: tokenizer.addBos },
      config: c,
      summary,
    };
    return { tokenizer, model };
  } catch (e) {
    throw new InferenceError('model_load', `${resolved} is not a model this engine runs: ${(e as Error).message}`, ['check the file with `bitnet-gguf info`'], { cause: e });
  } finally {
    file.close();
  }
}

function checkEngineOptions(options: EngineOptions): { outputType: 'exact' | 'q8_0'; nice: number } {
  checkKnownKeys(options, ENGINE_OPTION_KEYS, 'EngineOptions');
  const nice = options.computeNice ?? DEFAULT_COMPUTE_NICE;
  const outputType = options.outputType ?? 'exact';
  if (outputType !== 'exact' && outputType !== 'q8_0') throw new ConfigError('outputType', "'exact' or 'q8_0'");
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new ConfigError('computeNice', 'an integer from 0 to 19');
  const t = options.threads;
  if (t !== undefined && (!Number.isInteger(t) || t < 1 || t > 256)) throw new ConfigError('threads', `must be an integer from 1 to 256, got ${JSON.stringify(t)}`);
  const k = options.kernels;
  if (k !== undefined && k !== 'native' && k !== 'ts' && k !== 'auto') throw new ConfigError('kernels', `must be 'native', 'ts' or 'auto', got ${JSON.stringify(k)}`);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw new ConfigError('onProgress', 'must be a function');
  const mb = options.promptCacheMb;
  if (mb !== undefined && (typeof mb !== 'number' || !Number.isFinite(mb) || mb < 0 || mb > 1 << 20)) throw new ConfigError('promptCacheMb', `must be a number of megabytes from 0 to ${1 << 20}, got ${JSON.stringify(mb)}`);
  const chunk = options.maxChunkTokens;
  if (chunk !== undefined && (!Number.isInteger(chunk) || chunk < 1)) throw new ConfigError('maxChunkTokens', `must be a positive integer, got ${JSON.stringify(chunk)}`);
  return { outputType, nice };
}

/** The kernel mode from the option, else BITNET_KERNELS (read here, once, on the main thread, by @bitnet/kernels' own parser). */
function kernelMode(option: EngineOptions['kernels']): 'native' | 'ts' | 'auto' {
  if (option) return option;
  try {
    return requestedKernelMode();
  } catch (e) {
    throw new ConfigError('kernels', (e as Error).message);
  }
}

/**
 * Loads a BitNet GGUF and generates from it. The model and every forward pass live in a worker
 * thread; this object (main thread) tokenizes, validates and routes each sequence's tokens.
 * An engine with nothing in flight does not keep the process alive; `close()` ends it for good.
 */
export class InferenceEngine implements SequenceHost {
  private nextSeq = 1;
  private readonly listeners = new Map<number, SequenceListener>();
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly exited: Promise<void>;
  private readonly sched: EngineSchedulingStats = { decodeSteps: 0, decodeTokens: 0, maxDecodeBatch: 0 };
  private cacheStats: PromptCacheStats | undefined;

  private constructor(
    private readonly worker: Worker,
    /** The model as read from the file's header. */
    readonly model: ModelInfo,
    readonly tokenizer: Tokenizer,
    /** What the model thread loaded and runs (kernels, ISA, pool threads, weight bytes, ...). */
    readonly loadInfo: EngineLoadInfo,
  ) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (m: WorkerToMain) => this.onMessage(m));
    worker.on('error', (e) => this.failAll(new InferenceError('generation_failed', `model thread crashed: ${e.message}`, ['reload the engine'], { cause: e })));
    worker.on('exit', () => {
      this.closed = true;
      this.failAll(new InferenceError('engine_closed', 'the model thread has exited', ['load the engine again']));
    });
    worker.unref(); // idle: referenced again while sequences are in flight
  }

  /** Absolute path of the model file. */
  get modelPath(): string {
    return this.model.path;
  }

  /** The model's hyperparameters. */
  get config(): ModelConfig {
    return this.model.config;
  }

  /**
   * Loads a model: this thread reads the file's header once (tokenizer, summary, chat format), the
   * worker reads the weights. Without a path, loads the bundled default model (defaultModelPath()).
   * Every failure is an InferenceError: 'invalid_config' (a ConfigError) for bad options,
   * 'model_load' for a missing, malformed or truncated file.
   */
  static load(modelPath?: string, options: EngineOptions = {}): Promise<InferenceEngine> {
    return InferenceEngine.open(modelPath, options, {});
  }

  /** @internal load with test-only settings (see src/testing). */
  static async open(modelPath: string | undefined, options: EngineOptions, internals: EngineInternals): Promise<InferenceEngine> {
    const { outputType, nice } = checkEngineOptions(options);
    const kernels = { mode: kernelMode(options.kernels), threads: options.threads };
    const resolved = path.resolve(modelPath || defaultModelPath());
    if (!modelPath && !fs.existsSync(resolved)) {
      throw new InferenceError('model_load', `no model path given and the bundled default model is missing (${resolved})`, ['pass the path of a BitNet GGUF file']);
    }
    // The model thread starts loading the weights while this thread reads the header (tokenizer,
    // summary): the two overlap. A file this thread rejects ends the model thread with the same error as ever.
    const worker = new Worker(workerPath());
    const loading = new Promise<WorkerLoaded>((resolve, reject) => {
      worker.on('message', (m: WorkerToMain) => {
        if (m.type === 'loaded') resolve(m);
        else if (m.type === 'load-progress') options.onProgress?.(m.done, m.total);
        else if (m.type === 'load-error') reject(new InferenceError('model_load', `cannot load ${resolved}: ${m.message}`, ['check the file with `bitnet-gguf info`']));
      });
      worker.once('error', (e) => reject(new InferenceError('model_load', `model thread failed: ${e.message}`, [], { cause: e })));
      worker.once('exit', (code) => reject(new InferenceError('model_load', `the model thread exited while loading (code ${code})`)));
      const req: MainToWorker = {
        type: 'load',
        path: resolved,
        maxChunkTokens: options.maxChunkTokens ?? 64,
        kernels,
        repackTq1_0: options.repackTq1_0 ?? true,
        outputType,
        computeNice: nice,
        faultInjection: internals.faultInjection === true,
        promptCacheBytes: Math.floor((options.promptCacheMb ?? 0) * 1024 * 1024),
      };
      worker.postMessage(req);
    });
    let header: ReturnType<typeof readModel>;
    try {
      header = readModel(resolved);
    } catch (e) {
      loading.catch(() => undefined);
      await worker.terminate();
      throw e;
    }
    const { tokenizer, model } = header;
    const loaded = await loading.catch(async (e) => {
      await worker.terminate();
      throw e;
    });
    worker.removeAllListeners('message');
    worker.removeAllListeners('error');
    worker.removeAllListeners('exit');
    const { type: _t, config: _c, ...info } = loaded;
    return new InferenceEngine(worker, model, tokenizer, info);
  }

  /** Tokenizes a prompt as generation does (BOS per config / the model's add_bos_token; special tokens parsed). */
  encodePrompt(prompt: string, config: Pick<GenerationConfig, 'addBos'> = {}): number[] {
    if (typeof prompt !== 'string') throw new ConfigError('prompt', 'must be a string or an array of token ids');
    try {
      return this.tokenizer.encode(prompt, { addBos: config.addBos ?? this.tokenizer.addBos, parseSpecial: true });
    } catch (e) {
      throw new InferenceError('invalid_config', `the prompt cannot be tokenized: ${(e as Error).message}`, ['check the prompt text'], { cause: e });
    }
  }

  /** Prompt ids of a text (encodePrompt) or of ids (checked against the vocabulary, taken as they are). */
  promptIds(prompt: Prompt, config: Pick<GenerationConfig, 'addBos'> = {}): number[] {
    if (!Array.isArray(prompt)) return this.encodePrompt(prompt as string, config);
    const vocab = this.model.vocabSize;
    const bad = prompt.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= vocab);
    if (bad >= 0) throw new ConfigError('prompt', `token id ${JSON.stringify(prompt[bad])} at index ${bad} is not in the vocabulary (0..${vocab - 1})`);
    return [...prompt];
  }

  /**
   * Throws ContextOverflowError (type 'context_overflow') when `promptTokens` plus `maxNewTokens`
   * do not fit the context. Generation checks this itself; callers may check first.
   */
  checkContext(promptTokens: number, maxNewTokens: number): void {
    const ctx = this.model.contextLength;
    if (promptTokens + maxNewTokens > ctx) throw new ContextOverflowError(promptTokens, maxNewTokens, ctx);
  }

  /**
   * Starts one sequence on the model thread. Checks the context (the prompt plus maxNewTokens) before
   * any work. `resumed`: how many ids at the end of promptIds an earlier run of the generation
   * produced (they count towards maxNewTokens). `logprobs`: how many alternatives each token
   * reports with its logprob (0..20; undefined = no logprobs). Returns the sequence id (for cancel).
   */
  startSequence(
    promptIds: number[],
    config: GenerationConfig,
    streaming: StreamingConfig,
    listener: SequenceListener,
    options: SequenceOptions = {},
  ): number {
    const { faults, resumed = 0, logprobs, grammar } = options;
    if (this.closed) throw closedError();
    if (grammar !== undefined && typeof grammar !== 'string') throw new ConfigError('grammar', 'must be GBNF text');
    if (promptIds.length - resumed <= 0) throw new InferenceError('invalid_config', 'the prompt has no tokens', ['pass a non-empty prompt or enable addBos']);
    if (!Number.isInteger(resumed) || resumed < 0 || resumed >= config.maxNewTokens) throw new ConfigError('resume', `must hold fewer ids than maxNewTokens (${config.maxNewTokens})`);
    checkLogprobs(logprobs);
    this.checkContext(promptIds.length - resumed, config.maxNewTokens);
    const stopIds = stopIdReasons(this.tokenizer, config.stopTokenIds);
    const seq = this.nextSeq++;
    if (this.listeners.size === 0) this.worker.ref();
    this.listeners.set(seq, listener);
    this.post({
      type: 'start',
      seq,
      promptIds,
      resumed,
      maxNewTokens: config.maxNewTokens,
      sampling: {
        temperature: config.temperature,
        topK: config.topK,
        topP: config.topP,
        minP: config.minP,
        repetitionPenalty: config.repetitionPenalty,
        presencePenalty: config.presencePenalty,
        frequencyPenalty: config.frequencyPenalty,
        logitBias: config.logitBias,
        seed: config.seed,
      },
      stopIds: [...stopIds.entries()],
      maxRetries: streaming.maxRetries,
      faults,
      logprobs,
      grammar,
    });
    return seq;
  }

  /** Stops a sequence; the model thread sees it before its next step. */
  cancelSequence(seq: number): void {
    if (this.listeners.has(seq) && !this.closing) this.post({ type: 'cancel', seq });
  }

  /** Number of sequences in flight. */
  get activeSequences(): number {
    return this.listeners.size;
  }

  /** The prompt cache's counters as of the last sequence that started or ended (undefined without a cache, or before any). */
  get promptCacheStats(): PromptCacheStats | undefined {
    return this.cacheStats && { ...this.cacheStats };
  }

  /** Whether close() was called or the model thread has gone. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Scheduling counters since load: tokens produced by batched decode steps, the sum of those
   * steps' batch sizes (their mean batch is decodeTokens / decodeSteps) and the largest batch.
   */
  get schedulingStats(): EngineSchedulingStats {
    return { ...this.sched, decodeSteps: Math.round(this.sched.decodeSteps) };
  }

  /**
   * Drains and stops: sequences in flight end with finishReason 'cancelled', the model thread answers
   * and exits, then this resolves. Later calls reject with InferenceError('engine_closed').
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.worker.ref();
    this.post({ type: 'close' });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => {
      // a model thread stuck in a step longer than this is stopped the hard way
      timer = setTimeout(() => void this.worker.terminate().then(() => resolve()), 10_000);
      timer.unref();
    });
    this.closing = Promise.race([this.exited, late]).then(() => {
      clearTimeout(timer);
      this.failAll(closedError());
    });
    return this.closing;
  }

  private post(m: MainToWorker): void {
    this.worker.postMessage(m);
  }

  private onMessage(m: WorkerToMain): void {
    if (!('seq' in m)) return;
    if (m.type === 'token' && m.batch > 0) {
      this.sched.decodeTokens++;
      this.sched.decodeSteps += 1 / m.batch;
      this.sched.maxDecodeBatch = Math.max(this.sched.maxDecodeBatch, m.batch);
    }
    const l = this.listeners.get(m.seq);
    if (!l) return;
    switch (m.type) {
      case 'token':
        if (m.promptCache) this.cacheStats = m.promptCache;
        l.token(m.id, m.prefillMs, m.logprob === undefined ? undefined : { logprob: m.logprob, topIds: m.topIds ?? [], topLogprobs: m.topLogprobs ?? [] });
        break;
      case 'progress':
        l.progress?.(m.done, m.total);
        break;
      case 'done':
        this.forget(m.seq);
        if (m.promptCache) this.cacheStats = m.promptCache;
        l.done(m.reason, m.decodeMs, { maskMs: m.maskMs, cachedTokens: m.cachedTokens });
        break;
      case 'error':
        this.forget(m.seq);
        if (m.kind === 'grammar') l.error(new GrammarError(m.message.replace(/^grammar: /, '')));
        else l.error(new InferenceError('generation_failed', `generation failed after ${m.retries} retries: ${m.message}`, ['retry the request', 'check the model file']));
        break;
    }
  }

  private forget(seq: number): void {
    this.listeners.delete(seq);
    if (this.listeners.size === 0 && !this.closing) this.worker.unref();
  }

  private failAll(err: InferenceError): void {
    const ls = [...this.listeners.values()];
    this.listeners.clear();
    for (const l of ls) l.error(err);
  }

  private assertOpen(): void {
    if (this.closed) throw closedError();
  }

  /** Streams a generation with default streaming settings. The prompt is text or token ids. */
  generateStream(prompt: Prompt, config: Partial<GenerationConfig> = {}, options: GenerateOptions = {}): GenerationStream {
    this.assertOpen();
    return startGeneration(this, prompt, config, {}, options);
  }

  /** Streams a generation: responses of `{ text, tokenIds }` flushed by size or by timer. */
  generateStreamWithConfig(prompt: Prompt, config: Partial<GenerationConfig> = {}, streaming: Partial<StreamingConfig> = {}, options: GenerateOptions = {}): GenerationStream {
    this.assertOpen();
    return startGeneration(this, prompt, config, streaming, options);
  }

  /** Generates to the end: text, token ids, finish reason and timings. */
  async generate(prompt: Prompt, config: Partial<GenerationConfig> = {}, options: GenerateOptions = {}): Promise<GenerationResult> {
    this.assertOpen();
    return collectGeneration(startGeneration(this, prompt, config, { bufferSize: 4096, flushIntervalMs: 60_000, tokenTimeoutMs: 600_000 }, options));
  }

  /** Defaults merged and validated (exposed for the server and CLIs). */
  static configs(gen?: Partial<GenerationConfig>, stream?: Partial<StreamingConfig>): { generation: GenerationConfig; streaming: StreamingConfig } {
    return { generation: generationConfig(gen), streaming: streamingConfig(stream) };
  }
}

/** @internal a generation with test-only faults (see src/testing). */
export function startGenerationWithFaults(
  engine: InferenceEngine,
  prompt: Prompt,
  config: Partial<GenerationConfig>,
  streaming: Partial<StreamingConfig>,
  options: GenerateOptions,
  faults: FaultPlan,
): GenerationStream {
  if (engine.isClosed) throw closedError();
  return startGeneration(engine, prompt, config, streaming, options, faults);
}
