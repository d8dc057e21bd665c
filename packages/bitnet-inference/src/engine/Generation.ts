import { GenerationConfig, generationConfig } from '../config/GenerationConfig';
import { StreamingConfig, streamingConfig } from '../config/StreamingConfig';
import { checkKnownKeys } from '../errors/checkKeys';
import { InferenceError } from '../errors/InferenceError';
import { logger } from '../logging/Logger';
import { createTokenStream } from '../streaming/createTokenStream';
import type { FinishReason, StreamResponse } from '../streaming/StreamBuffer';
import type { TokenPiece } from '../streaming/TokenPieces';
import type { TokenStream } from '../streaming/TokenStream';
import type { FaultPlan } from './protocol';
import type { SequenceHost } from './types';

const log = logger('bitnet_inference::engine');

/** How long a generation took, split into prefill and decode. */
export interface GenerationTimings {
  promptTokens: number;
  generatedTokens: number;
  /** From the request to the first generated token (prefill). */
  prefillMs: number;
  /** From the first to the last generated token. */
  decodeMs: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
}

/** A running generation: the response stream plus what it was asked and how fast it went. */
export type GenerationStream = TokenStream & {
  readonly promptIds: readonly number[];
  readonly generatedIds: readonly number[];
  /** Token counts and rates measured so far (final once the stream has ended). */
  timings(): GenerationTimings;
};

/** Per-call options of a generation that are not sampling or streaming settings. */
export interface GenerateOptions {
  /** Aborting it cancels the generation (the stream ends with finishReason 'cancelled'). */
  signal?: AbortSignal;
  /**
   * Called with the prompt tokens processed so far and the prompt's length: once with 0 at the start,
   * after each prefill chunk, and with the whole length when the first token arrives.
   */
  onPromptProgress?: (done: number, total: number) => void;
}

const GENERATE_OPTION_KEYS: readonly (keyof GenerateOptions)[] = ['signal', 'onPromptProgress'];

/** A prompt: text (tokenized with the model's tokenizer) or token ids. */
export type Prompt = string | readonly number[];

/** A whole generation, collected: what `InferenceEngine.generate` resolves to. */
export interface GenerationResult {
  text: string;
  tokenIds: number[];
  /** One per generated id, in order, with its own share of `text` (see StreamResponse.pieces). */
  pieces: TokenPiece[];
  promptIds: number[];
  finishReason: FinishReason;
  timings: GenerationTimings;
}

/**
 * Starts a generation on the engine: validates the options, tokenizes (unless given ids), checks
 * the context, then routes the worker's tokens through a StreamBuffer into a TokenStream. A step
 * that produces no token within tokenTimeoutMs ends the stream with a token_timeout error and stops
 * the sequence. `faults` is for tests only (see src/testing).
 */
export function startGeneration(
  engine: SequenceHost,
  prompt: Prompt,
  config: Partial<GenerationConfig> = {},
  streaming: Partial<StreamingConfig> = {},
  options: GenerateOptions = {},
  faults?: FaultPlan,
): GenerationStream {
  checkKnownKeys(options, GENERATE_OPTION_KEYS, 'GenerateOptions', { maxNewTokens: 'GenerationConfig', max_tokens: 'GenerationConfig (maxNewTokens)', bufferSize: 'StreamingConfig' });
  const gen = generationConfig(config);
  const sc = streamingConfig(streaming);
  const promptIds = engine.promptIds(prompt, gen);
  const generatedIds: number[] = [];
  const t0 = performance.now();
  let firstTokenAt = 0;
  let lastTokenAt = 0;
  let seq = -1;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stopTimer = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  const { stream, buffer } = createTokenStream({
    tokenizer: engine.tokenizer,
    generation: gen,
    streaming: sc,
    signal: options.signal,
    onCancel: () => {
      stopTimer();
      engine.cancelSequence(seq);
    },
    onStop: () => {
      stopTimer();
      engine.cancelSequence(seq);
    },
  });
  if (stream.cancelled) {
    // the signal was already aborted: the stream has ended; start no work
    return Object.assign(stream, { promptIds, generatedIds, timings: () => emptyTimings(promptIds.length) }) as GenerationStream;
  }
  const armTimer = () => {
    stopTimer();
    timer = setTimeout(() => {
      timer = undefined;
      engine.cancelSequence(seq);
      buffer.fail(
        new InferenceError('token_timeout', `no token within ${sc.tokenTimeoutMs} ms`, [
          'raise tokenTimeoutMs',
          'use a smaller model or fewer concurrent streams',
          'check that the native kernels are in use',
        ]),
      );
    }, sc.tokenTimeoutMs);
  };
  options.onPromptProgress?.(0, promptIds.length);
  seq = engine.startSequence(promptIds, gen, sc, {
    token: (id) => {
      const now = performance.now();
      if (generatedIds.length === 0) {
        firstTokenAt = now;
        // the last prefill chunk yields the first token rather than a progress message
        if (!buffer.closed) options.onPromptProgress?.(promptIds.length, promptIds.length);
      }
      lastTokenAt = now;
      if (buffer.closed) return;
      generatedIds.push(id);
      if (log.enabled('debug')) log.debug('token', { seq, id, position: promptIds.length + generatedIds.length - 1 });
      buffer.push(id);
      if (!buffer.closed) armTimer();
    },
    progress: (done, total) => {
      if (buffer.closed) return;
      armTimer();
      options.onPromptProgress?.(done, total);
    },
    done: (reason) => {
      stopTimer();
      buffer.finish(reason);
    },
    error: (err) => {
      stopTimer();
      buffer.fail(err);
    },
  }, faults);
  armTimer();
  const timings = (): GenerationTimings => {
    const n = generatedIds.length;
    const prefillMs = firstTokenAt ? firstTokenAt - t0 : 0;
    const decodeMs = n > 1 ? lastTokenAt - firstTokenAt : 0;
    return {
      promptTokens: promptIds.length,
      generatedTokens: n,
      prefillMs,
      decodeMs,
      prefillTokensPerSecond: prefillMs > 0 ? (promptIds.length / prefillMs) * 1000 : 0,
      decodeTokensPerSecond: decodeMs > 0 ? ((n - 1) / decodeMs) * 1000 : 0,
    };
  };
  return Object.assign(stream, { promptIds, generatedIds, timings }) as GenerationStream;
}

function emptyTimings(promptTokens: number): GenerationTimings {
  return { promptTokens, generatedTokens: 0, prefillMs: 0, decodeMs: 0, prefillTokensPerSecond: 0, decodeTokensPerSecond: 0 };
}

/** Runs a generation to its end and returns text, ids, finish reason and timings. */
export async function collectGeneration(stream: GenerationStream): Promise<GenerationResult> {
  let text = '';
  const tokenIds: number[] = [];
  const pieces: TokenPiece[] = [];
  let finishReason: FinishReason = 'error';
  for await (const r of stream as AsyncIterable<StreamResponse>) {
    text += r.text;
    tokenIds.push(...r.tokenIds);
    pieces.push(...r.pieces);
    if (r.finishReason) finishReason = r.finishReason;
  }
  return { text, tokenIds, pieces, promptIds: [...stream.promptIds], finishReason, timings: stream.timings() };
}
