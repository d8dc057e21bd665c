import { ContextOverflowError, FINISH_REASONS, type FinishReason, type GenerateOptions, type GenerationConfig, type GenerationTimings, type InferenceEngine, InferenceError, type StreamingConfig, type TokenPiece, toInferenceError } from '@bitnet/inference';
import { HttpError, invalidField } from '../http/HttpError';
import type { ServerMetrics } from '../http/Metrics';
import type { Logger } from '../Logger';
import { Admission, type Slot, type Ticket } from './Admission';

/** Why a generation ended, as the `complete` event's completion_reason says. */
export type CompletionReason = Exclude<FinishReason, 'cancelled' | 'error'> | 'client_disconnected' | 'server_shutdown' | 'cancelled' | 'error';

/** Finish reasons of a generation that ran to its natural end. */
const NORMAL: ReadonlySet<string> = new Set(FINISH_REASONS.filter((r) => r !== 'cancelled' && r !== 'error'));

/** One generated token as the routes send it: its piece, where it sits, and when it came. */
export interface TokenInfo extends TokenPiece {
  /** Position of the token in the sequence (prompt tokens count from 0). */
  position: number;
  /** Index among the generated tokens (0 = first). */
  index: number;
  /** Milliseconds from the request's arrival. */
  cumulativeMs: number;
}

/** How a generation ended: its tokens, timings, reason and error, if any. */
export interface GenerationOutcome {
  reason: CompletionReason;
  completedNormally: boolean;
  /** OpenAI's finish_reason: 'stop' | 'length' ('grammar_complete' is a 'stop'), or the completion reason when it ended otherwise. */
  finishReason: string;
  promptTokens: number;
  /** Prompt tokens restored from the engine's prompt cache instead of computed (0 without a cache). */
  cachedPromptTokens: number;
  generatedTokens: number;
  totalTimeMs: number;
  timeToFirstTokenMs: number | null;
  tokensPerSecond: number;
  seed: number;
  text: string;
  tokenIds: number[];
  error?: InferenceError;
}

/**
 * The 400 for a prompt that does not fit: `prompt_too_long` when the prompt alone fills the context,
 * `context_overflow` when the prompt plus max_tokens does not fit.
 */
function contextOverflowError(e: ContextOverflowError): HttpError {
  const { promptTokens: n, maxTokens, contextLength: ctx } = e;
  if (n >= ctx) {
    return new HttpError(400, 'prompt_too_long', `the prompt has ${n} tokens; the model's context holds ${ctx} (prompt and generated tokens together)`, {
      param: 'prompt',
      prompt_tokens: n,
      context_length: ctx,
    });
  }
  return new HttpError(
    400,
    'context_overflow',
    `the prompt has ${n} tokens and max_tokens is ${maxTokens}: ${n + maxTokens} exceeds the context length ${ctx}; lower max_tokens to at most ${ctx - n}`,
    { param: 'max_tokens', prompt_tokens: n, max_tokens: maxTokens, context_length: ctx },
  );
}

/** Whether a request may start now, must wait, or (thrown) is refused. */
export type { Ticket };

/** What `GenerationService.run` tells its caller while a generation runs. */
export interface RunHooks {
  /** The request waits for a slot (called once, before waiting). */
  onQueued?(): void;
  /** The request got its slot and generation starts (prefill). */
  onStarted?(): void;
  /** One generated token with its text, as soon as the engine's stream settles that text (a piece). */
  onToken?(t: TokenInfo): void;
  /**
   * Whether a generation stopped early for this abort reason will be continued later (revived):
   * then the pieces the engine settles only because it stopped (text held back for a stop string or
   * an unfinished character, cut short) are not reported — the continuation delivers them whole.
   */
  suspends?(reason: string): boolean;
}

/** A generation that continues an earlier run of the same request. */
export interface RunOptions {
  /** Ids the earlier run emitted (the engine prefills them after the prompt and restores the sampler). */
  resume?: readonly number[];
  /** Their text, concatenated. */
  resumeText?: string;
  /** Pieces carry logprobs with this many alternatives (GenerateOptions.logprobs); undefined = none. */
  logprobs?: number;
  /** The output follows this GBNF grammar (GenerateOptions.grammar, already checked); undefined = free text. */
  grammar?: string;
}

/** One request's abort controller, as `GenerationService.requestController()` hands it out. */
export interface RequestControl {
  /** Aborted with CLIENT_GONE or SHUTDOWN. */
  controller: AbortController;
  /** The request has ended: the service forgets the controller. */
  done: () => void;
}

/** Abort reasons the server uses. */
export const CLIENT_GONE = 'client_disconnected';
export const SHUTDOWN = 'server_shutdown';

/**
 * Runs generations for every route: prompt checks, admission (bounded slots and queue),
 * the engine stream (whose responses carry each token's own text: `pieces`), metrics.
 */
export class GenerationService {
  readonly admission: Admission;
  private stopping = false;
  /** One controller per request in flight; shutdown aborts them all. */
  private readonly inFlight = new Set<AbortController>();

  constructor(
    readonly engine: InferenceEngine,
    readonly metrics: ServerMetrics,
    private readonly log: Logger,
    limits: { maxConcurrent: number; maxQueue: number },
  ) {
    this.admission = new Admission(limits.maxConcurrent, limits.maxQueue);
  }

  get shuttingDown(): boolean {
    return this.stopping;
  }

  /** Ends every generation (open streams get their final event) and refuses new ones. */
  beginShutdown(): void {
    this.stopping = true;
    for (const c of [...this.inFlight]) c.abort(SHUTDOWN);
  }

  /**
   * The signal of one request: aborted with CLIENT_GONE by `requestSignal()` (http/common) or with SHUTDOWN by
   * beginShutdown(). (A plain controller per request: AbortSignal.any on a long-lived shutdown
   * signal keeps every request's signal alive in Node 20.)
   */
  requestController(): RequestControl {
    const controller = new AbortController();
    if (this.stopping) controller.abort(SHUTDOWN);
    this.inFlight.add(controller);
    return { controller, done: () => this.inFlight.delete(controller) };
  }

  /**
   * Tokenizes the prompt — the only time a request's prompt is tokenized: run() takes these ids —
   * and checks it against the context (the engine's ContextOverflowError becomes a 400 with the counts).
   */
  checkPrompt(prompt: string, gen: GenerationConfig): number[] {
    const ids = this.engine.encodePrompt(prompt, gen);
    if (ids.length === 0) throw new HttpError(400, 'invalid_request_error', 'the prompt has no tokens', { param: 'prompt', code: 'empty_prompt' });
    const vocab = this.engine.tokenizer.vocabSize;
    const outside = Object.keys(gen.logitBias).find((id) => Number(id) >= vocab);
    if (outside !== undefined) throw invalidField('logit_bias', `token id ${outside} is not in the vocabulary (0..${vocab - 1})`);
    try {
      this.engine.checkContext(ids.length, gen.maxNewTokens);
    } catch (e) {
      if (e instanceof ContextOverflowError) throw contextOverflowError(e);
      throw e;
    }
    return ids;
  }

  /** Decides admission now (throws 429 / 503). Call before sending any response header. */
  admit(): Ticket {
    if (this.shuttingDown) throw new HttpError(503, 'shutting_down', 'the server is shutting down', {}, { 'Retry-After': '5', Connection: 'close' });
    try {
      return this.admission.tryEnter();
    } catch (e) {
      if (e instanceof HttpError && e.status === 429) this.metrics.rejected.inc();
      throw e;
    }
  }

  /**
   * Runs one admitted generation to its end. Never throws: errors become the outcome's `error`.
   * `signal` is the request's signal; its reason says why a generation was stopped early.
   */
  async run(
    ticket: Ticket,
    /** Prompt ids from checkPrompt (text is tokenized by the engine). */
    prompt: string | readonly number[],
    gen: GenerationConfig,
    streaming: StreamingConfig,
    signal: AbortSignal,
    startedAt: number,
    hooks: RunHooks = {},
    options: RunOptions = {},
  ): Promise<GenerationOutcome> {
    const resume = options.resume ?? [];
    const outcome: GenerationOutcome = {
      reason: 'cancelled',
      completedNormally: false,
      finishReason: 'cancelled',
      promptTokens: 0,
      cachedPromptTokens: 0,
      generatedTokens: resume.length,
      totalTimeMs: 0,
      timeToFirstTokenMs: null,
      tokensPerSecond: 0,
      seed: gen.seed,
      text: options.resumeText ?? '',
      tokenIds: [...resume],
    };
    let slot: Slot | undefined = ticket.slot;
    /** The engine's own timings of this generation (tokens/s is computed there, once). */
    let timings: (() => GenerationTimings) | undefined;
    try {
      if (!slot) {
        hooks.onQueued?.();
        const queuedAt = performance.now();
        try {
          slot = await ticket.wait!(signal);
        } catch {
          return this.end(outcome, startedAt, signal);
        }
        this.metrics.queueWait.observe((performance.now() - queuedAt) / 1000);
      } else {
        this.metrics.queueWait.observe(0);
      }
      if (signal.aborted) return this.end(outcome, startedAt, signal);
      hooks.onStarted?.();
      const generateOptions: GenerateOptions = resume.length > 0 ? { signal, resume } : { signal };
      if (options.logprobs !== undefined) generateOptions.logprobs = options.logprobs;
      if (options.grammar !== undefined) generateOptions.grammar = options.grammar;
      const stream = this.engine.generateStreamWithConfig(prompt, gen, streaming, generateOptions);
      timings = () => stream.timings();
      outcome.promptTokens = stream.promptIds.length;
      this.metrics.promptTokens.inc({}, stream.promptIds.length);
      let finish: FinishReason | undefined;
      try {
        for await (const r of stream) {
          // a stop that will be continued: the last response's pieces were cut short by the stop
          if (r.finishReason === 'cancelled' && signal.aborted && hooks.suspends?.(String(signal.reason))) break;
          for (const piece of r.pieces) {
            const now = performance.now();
            if (outcome.timeToFirstTokenMs === null) {
              outcome.timeToFirstTokenMs = now - startedAt;
              this.metrics.ttft.observe((now - startedAt) / 1000);
            }
            const index = outcome.generatedTokens++;
            outcome.tokenIds.push(piece.id);
            outcome.text += piece.text;
            this.metrics.tokens.inc();
            hooks.onToken?.({ ...piece, index, position: outcome.promptTokens + index, cumulativeMs: now - startedAt });
          }
          if (r.finishReason) finish = r.finishReason;
        }
      } catch (e) {
        outcome.error = toInferenceError(e);
      }
      if (outcome.error) {
        outcome.reason = 'error';
        outcome.finishReason = 'error';
      } else if (finish === 'cancelled' || finish === undefined) {
        return this.end(outcome, startedAt, signal, timings);
      } else {
        outcome.reason = finish;
        outcome.completedNormally = NORMAL.has(finish);
        outcome.finishReason = finish === 'max_tokens' ? 'length' : 'stop';
      }
      return this.end(outcome, startedAt, signal, timings);
    } catch (e) {
      outcome.error = toInferenceError(e);
      outcome.reason = 'error';
      outcome.finishReason = 'error';
      return this.end(outcome, startedAt, signal, timings);
    } finally {
      if (slot) {
        slot.release();
        this.admission.recordDuration(performance.now() - startedAt);
      }
    }
  }

  private end(o: GenerationOutcome, startedAt: number, signal: AbortSignal, timings?: () => GenerationTimings): GenerationOutcome {
    const now = performance.now();
    o.totalTimeMs = now - startedAt;
    o.tokensPerSecond = timings ? timings().decodeTokensPerSecond : 0;
    if (timings) {
      // with resumed ids the engine may restore past the prompt: only prompt tokens count here
      o.cachedPromptTokens = Math.min(timings().cachedPromptTokens, o.promptTokens);
      this.metrics.promptTokensCached.inc(o.cachedPromptTokens);
      this.metrics.promptTokensComputed.inc(o.promptTokens - o.cachedPromptTokens);
    }
    if (!o.error && o.reason === 'cancelled') {
      const why = signal.aborted ? String(signal.reason) : 'cancelled';
      o.reason = why === SHUTDOWN ? 'server_shutdown' : why === CLIENT_GONE ? 'client_disconnected' : 'cancelled';
      o.finishReason = o.reason;
      this.metrics.cancellations.inc({ reason: o.reason });
    }
    if (o.error) this.metrics.errors.inc({ type: o.error.type });
    this.metrics.streams.inc({ completion_reason: o.reason });
    this.metrics.latency.observe(o.totalTimeMs / 1000);
    this.log.info(
      { reason: o.reason, prompt_tokens: o.promptTokens, tokens: o.generatedTokens, ms: Math.round(o.totalTimeMs), error: o.error?.type },
      'generation ended',
    );
    return o;
  }
}
