import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ModelConfig, Tokenizer } from '@bitnet/models';
import { GenerationConfig, generationConfig } from '../config/GenerationConfig';
import { StreamingConfig, streamingConfig } from '../config/StreamingConfig';
import { ConfigError, ContextOverflowError, InferenceError } from '../errors/InferenceError';
import { checkLogprobs } from '../sampling/Logprobs';
import { defaultModelPath } from './DefaultModel';
import { type EngineInternals, type EngineOptions, checkEngineOptions, kernelMode } from './EngineOptions';
import { type GenerateOptions, type GenerationResult, type GenerationStream, type Prompt, collectGeneration, startGeneration } from './Generation';
import { type ModelInfo, readModel, stopIdReasons } from './ModelInfo';
import type { FaultPlan, MainToWorker, WorkerLoaded, WorkerToMain } from './protocol';
import type { PromptCacheStats } from '../cache/KvPrefixCache';
import type { ScreenStats } from '../forward/OutputLogits';
import { GrammarError } from '../grammar/GrammarError';
import type { SequenceHost, SequenceListener, SequenceOptions } from './types';

export type { SequenceListener, SequenceOptions } from './types';
export { DEFAULT_COMPUTE_NICE, type EngineInternals, type EngineOptions } from './EngineOptions';
export { type ModelInfo, stopIdReasons } from './ModelInfo';

/** What the model thread reports after loading it. */
export type EngineLoadInfo = Omit<WorkerLoaded, 'type' | 'config'>;

/** See InferenceEngine.schedulingStats. */
export interface EngineSchedulingStats {
  /** Batched decode steps run (each produces one token for every sequence in it). */
  decodeSteps: number;
  decodeTokens: number;
  maxDecodeBatch: number;
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
  private screenStats: ScreenStats | undefined;

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

  /** The output screen's counters as of the last sequence that ended (outputType 'screened'; undefined otherwise, or before any). */
  get outputScreenStats(): ScreenStats | undefined {
    return this.screenStats && { ...this.screenStats };
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
        if (m.outputScreen) this.screenStats = m.outputScreen;
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
