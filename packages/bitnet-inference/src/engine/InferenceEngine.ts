import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { GgufFile, ModelConfig, Tokenizer, createTokenizer } from '@bitnet/models';
import { GenerationConfig, generationConfig } from '../config/GenerationConfig';
import { StreamingConfig, streamingConfig } from '../config/StreamingConfig';
import { ConfigError, InferenceError } from '../errors/InferenceError';
import type { MainToWorker, WorkerLoaded, WorkerToMain } from './WorkerProtocol';
import { defaultModelPath } from './DefaultModel';
import { GenerateOptions, GenerationResult, GenerationStream, collectGeneration, startGeneration } from './Generation';

/** EngineOptions.computeNice when it is not given. */
export const DEFAULT_COMPUTE_NICE = 5;

export interface EngineOptions {
  /** Most prompt tokens one prefill step processes (default 64). */
  maxChunkTokens?: number;
  /** Kernels for the model thread: 'native' | 'ts' | 'auto' (default: BITNET_KERNELS or auto). */
  kernels?: 'native' | 'ts' | 'auto';
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
}

/** Test hooks that make the model thread misbehave on purpose (retries, timeouts). */
export interface TestHooks {
  /** Step numbers (per sequence, from 0) that fail once with a transient error. */
  failSteps?: number[];
  /** Step numbers that stall for stallMs before running. */
  stallSteps?: number[];
  stallMs?: number;
}

/** Per-token events of one sequence, as the worker reports them. */
export interface SequenceListener {
  token(id: number, prefillMs?: number): void;
  progress?(done: number, total: number): void;
  done(reason: 'eos' | 'end_of_turn' | 'stop_token' | 'max_tokens' | 'cancelled', decodeMs: number): void;
  error(err: InferenceError): void;
}

/** Where the compiled worker lives: beside this file once built, or in dist when run from sources (tests). */
/** See InferenceEngine.schedulingStats. */
export interface EngineSchedulingStats {
  /** Batched decode steps run (each produces one token for every sequence in it). */
  decodeSteps: number;
  decodeTokens: number;
  maxDecodeBatch: number;
}

function workerPath(): string {
  const beside = path.join(__dirname, 'EngineWorker.js');
  if (fs.existsSync(beside)) return beside;
  const built = path.resolve(__dirname, '../../dist/engine/EngineWorker.js');
  if (fs.existsSync(built)) return built;
  throw new InferenceError('model_load', `the engine worker script is missing (looked for ${beside} and ${built}); build @bitnet/inference first`);
}

/**
 * Loads a BitNet GGUF and generates from it. The model and every forward pass live in a worker
 * thread; this object (main thread) tokenizes, validates and routes each sequence's tokens.
 */
export class InferenceEngine {
  private nextSeq = 1;
  private readonly listeners = new Map<number, SequenceListener>();
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    readonly modelPath: string,
    readonly config: ModelConfig,
    readonly tokenizer: Tokenizer,
    readonly loadInfo: Omit<WorkerLoaded, 'type' | 'config'>,
  ) {
    worker.on('message', (m: WorkerToMain) => this.onMessage(m));
    worker.on('error', (e) => this.failAll(new InferenceError('generation_failed', `model thread crashed: ${e.message}`, ['reload the engine'], { cause: e })));
    worker.on('exit', () => this.failAll(new InferenceError('engine_closed', 'the model thread has exited', ['load the engine again'])));
  }

  /**
   * Loads a model (the worker reads the weights; this thread reads only the tokenizer metadata).
   * Without a path, loads the bundled default model (defaultModelPath()).
   */
  static async load(modelPath?: string, options: EngineOptions = {}): Promise<InferenceEngine> {
    const nice = options.computeNice ?? DEFAULT_COMPUTE_NICE;
    const outputType = options.outputType ?? 'exact';
    if (outputType !== 'exact' && outputType !== 'q8_0') throw new ConfigError('outputType', "'exact' or 'q8_0'");
    if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new ConfigError('computeNice', 'an integer from 0 to 19');
    const resolved = path.resolve(modelPath || defaultModelPath());
    if (!modelPath && !fs.existsSync(resolved)) {
      throw new InferenceError('model_load', `no model path given and the bundled default model is missing (${resolved})`, ['pass the path of a BitNet GGUF file']);
    }
    const file = GgufFile.open(resolved);
    let tokenizer: Tokenizer;
    try {
      tokenizer = createTokenizer(file.metadata);
    } finally {
      file.close();
    }
    const worker = new Worker(workerPath());
    const loaded = await new Promise<WorkerLoaded>((resolve, reject) => {
      const onMessage = (m: WorkerToMain) => {
        if (m.type === 'loaded') resolve(m);
        else if (m.type === 'load-error') reject(new InferenceError('model_load', `cannot load ${resolved}: ${m.message}`, ['check the file with `bitnet-gguf info`']));
      };
      worker.on('message', onMessage);
      worker.once('error', (e) => reject(new InferenceError('model_load', `model thread failed: ${e.message}`, [], { cause: e })));
      const req: MainToWorker = { type: 'load', path: resolved, maxChunkTokens: options.maxChunkTokens ?? 64, kernels: options.kernels ?? process.env.BITNET_KERNELS, repackTq1_0: options.repackTq1_0 ?? true, outputType, computeNice: nice };
      worker.postMessage(req);
    }).catch(async (e) => {
      await worker.terminate();
      throw e;
    });
    worker.removeAllListeners('message');
    worker.removeAllListeners('error');
    const { type: _t, config, ...info } = loaded;
    return new InferenceEngine(worker, resolved, config, tokenizer, info);
  }

  /** Tokenizes a prompt as generation does (BOS per config / the model's add_bos_token; special tokens parsed). */
  encodePrompt(prompt: string, config: Pick<GenerationConfig, 'addBos'> = {}): number[] {
    return this.tokenizer.encode(prompt, { addBos: config.addBos ?? this.tokenizer.addBos, parseSpecial: true });
  }

  /**
   * Starts one sequence on the model thread. Checks the context before any work.
   * Returns the sequence id (for cancel) and the prompt ids.
   */
  startSequence(promptIds: number[], config: GenerationConfig, streaming: StreamingConfig, listener: SequenceListener, hooks: TestHooks = {}): number {
    if (this.closed) throw new InferenceError('engine_closed', 'the engine is closed', ['load the engine again']);
    if (promptIds.length === 0) throw new InferenceError('invalid_config', 'the prompt has no tokens', ['pass a non-empty prompt or enable addBos']);
    const total = promptIds.length + config.maxNewTokens;
    if (total > this.config.contextLength) {
      throw new InferenceError(
        'context_overflow',
        `prompt (${promptIds.length} tokens) + maxNewTokens (${config.maxNewTokens}) = ${total} exceeds the context length ${this.config.contextLength}`,
        ['shorten the prompt', `lower maxNewTokens to at most ${Math.max(0, this.config.contextLength - promptIds.length)}`],
      );
    }
    const t = this.tokenizer;
    const stopIds = new Map<number, 'eos' | 'end_of_turn' | 'stop_token'>();
    for (const id of config.stopTokenIds) stopIds.set(id, 'stop_token');
    for (const id of t.endOfGenerationIds) stopIds.set(id, id === t.eosId ? 'eos' : 'end_of_turn');
    const seq = this.nextSeq++;
    this.listeners.set(seq, listener);
    this.post({
      type: 'start',
      seq,
      promptIds,
      maxNewTokens: config.maxNewTokens,
      sampling: { temperature: config.temperature, topK: config.topK, topP: config.topP, minP: config.minP, repetitionPenalty: config.repetitionPenalty, seed: config.seed },
      stopIds: [...stopIds.entries()],
      maxRetries: streaming.maxRetries,
      failSteps: hooks.failSteps,
      stallSteps: hooks.stallSteps,
      stallMs: hooks.stallMs,
    });
    return seq;
  }

  /** Stops a sequence; the model thread sees it before its next step. */
  cancelSequence(seq: number): void {
    if (this.listeners.has(seq)) this.post({ type: 'cancel', seq });
  }

  /** Number of sequences in flight. */
  get activeSequences(): number {
    return this.listeners.size;
  }

  /**
   * Scheduling counters since load: tokens produced by batched decode steps, the sum of those
   * steps' batch sizes (their mean batch is decodeTokens / decodeSteps) and the largest batch.
   */
  get schedulingStats(): EngineSchedulingStats {
    return { ...this.sched, decodeSteps: Math.round(this.sched.decodeSteps) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new InferenceError('engine_closed', 'the engine was closed', ['load the engine again']));
    await this.worker.terminate();
  }

  private post(m: MainToWorker): void {
    this.worker.postMessage(m);
  }

  private readonly sched: EngineSchedulingStats = { decodeSteps: 0, decodeTokens: 0, maxDecodeBatch: 0 };

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
        l.token(m.id, m.prefillMs);
        break;
      case 'progress':
        l.progress?.(m.done, m.total);
        break;
      case 'done':
        this.listeners.delete(m.seq);
        l.done(m.reason, m.decodeMs);
        break;
      case 'error':
        this.listeners.delete(m.seq);
        l.error(new InferenceError('generation_failed', `generation failed after ${m.retries} retries: ${m.message}`, ['retry the request', 'check the model file']));
        break;
    }
  }

  private failAll(err: InferenceError): void {
    const ls = [...this.listeners.values()];
    this.listeners.clear();
    for (const l of ls) l.error(err);
  }

  /** Streams a generation with default streaming settings. */
  generateStream(prompt: string, config: Partial<GenerationConfig> = {}, options: GenerateOptions = {}): GenerationStream {
    return startGeneration(this, prompt, config, {}, options);
  }

  /** Streams a generation: responses of `{ text, tokenIds }` flushed by size or by timer. */
  generateStreamWithConfig(
    prompt: string,
    config: Partial<GenerationConfig> = {},
    streaming: Partial<StreamingConfig> = {},
    options: GenerateOptions = {},
  ): GenerationStream {
    return startGeneration(this, prompt, config, streaming, options);
  }

  /** Generates to the end: text, token ids, finish reason and timings. */
  async generate(prompt: string, config: Partial<GenerationConfig> = {}, options: GenerateOptions = {}): Promise<GenerationResult> {
    return collectGeneration(startGeneration(this, prompt, config, { bufferSize: 4096, flushIntervalMs: 60_000, tokenTimeoutMs: 600_000 }, options));
  }

  /** Defaults merged and validated (exposed for the server and CLIs). */
  static configs(gen?: Partial<GenerationConfig>, stream?: Partial<StreamingConfig>): { generation: GenerationConfig; streaming: StreamingConfig } {
    return { generation: generationConfig(gen), streaming: streamingConfig(stream) };
  }
}
