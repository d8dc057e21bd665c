import { GenerationConfig, generationConfig } from '../config/GenerationConfig';
import { StreamingConfig, streamingConfig } from '../config/StreamingConfig';
import { checkKnownKeys } from '../errors/checkKeys';
import { ConfigError, InferenceError } from '../errors/InferenceError';
import { parseGbnf } from '../grammar/Gbnf';
import { jsonSchemaToGbnf } from '../grammar/JsonSchemaToGbnf';
import { logger } from '../logging/Logger';
import { checkLogprobs, pieceLogprobs } from '../sampling/Logprobs';
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
  /** With a grammar or JSON schema: milliseconds the model thread spent computing and applying token masks. */
  maskMs?: number;
  /**
   * Prompt tokens whose keys and values came from the prompt cache (EngineOptions.promptCacheMb) instead
   * of being computed: prefill computed promptTokens − cachedPromptTokens of them. 0 without a cache.
   */
  cachedPromptTokens: number;
}

/**
 * A running generation: the response stream plus what it was asked and how fast it went. With
 * `GenerateOptions.resume`, promptIds is still the prompt alone, while generatedIds and timings
 * cover only the ids this stream generated (not the resumed ones).
 */
export type GenerationStream = TokenStream & {
  /** The prompt's ids (without resumed ids). */
  readonly promptIds: readonly number[];
  /** The ids this stream generated so far (after any resumed ids). */
  readonly generatedIds: readonly number[];
  /** The sampler's seed: the one given, or the random one drawn for this generation (pass it again to reproduce the run). */
  readonly seed: number;
  /** Token counts and rates measured so far (final once the stream has ended). */
  timings(): GenerationTimings;
};

/** Per-call options of a generation that are not sampling or streaming settings. */
export interface GenerateOptions {
  /** Aborting it cancels the generation (the stream ends with finishReason 'cancelled'). */
  signal?: AbortSignal;
  /**
   * Called with the prompt tokens processed so far and the prompt's length: once with 0 at the start,
   * after each prefill chunk, and with the whole length when the first token arrives. With `resume`,
   * the resumed ids count as prompt tokens here (they are prefilled with it).
   */
  onPromptProgress?: (done: number, total: number) => void;
  /**
   * Continue an interrupted generation exactly: the ids an earlier run of this same generation (same
   * prompt, same GenerationConfig including the seed, same streaming settings and stop strings)
   * already delivered as pieces, in order. The prompt and these ids are prefilled together, the
   * sampler takes the state it had after choosing them (its random draws and repetition window), and
   * the stream decoder and stop-string matcher are primed with them; the stream then yields only the
   * NEW ids and pieces — exactly the ids and texts of the earlier run's pieces after these (a
   * character begun by the last resumed id is completed by the next piece), with the same
   * finishReason. maxNewTokens still limits the whole generation (resumed ids included), so at most
   * maxNewTokens - resume.length ids are generated. Pass the ids of pieces received, not tokenIds that
   * came ahead of their pieces: text held back for those would be lost.
   * @throws ConfigError('resume') unless every id is an integer in the vocabulary, none ends the
   * generation (a stop id, end of generation, or a completed stop string) and there are fewer than
   * maxNewTokens of them.
   */
  resume?: readonly number[];
  /**
   * Token probabilities on every piece: each piece gets `logprob` (ln p of its token), `bytes` (the
   * token's raw bytes) and `topLogprobs` — this many most likely tokens at that step, most likely
   * first, each `{ id, text, logprob, bytes }` (0 = none, only the chosen token's). Undefined (the
   * default): no logprobs, and nothing is computed for them. A logprob is the log-softmax at
   * temperature 1 of the logits the token was chosen from, after the sampler's in-place adjustments
   * (repetition penalty, ...), before temperature / top-k / top-p / min-p (see TokenPiece.logprob).
   * With `resume`, the resumed pieces are not delivered again; the new ones carry logprobs.
   * @throws ConfigError('logprobs') unless an integer from 0 to 20.
   */
  logprobs?: number;
  /**
   * Constrain the output to JSON text valid for this JSON Schema (the subset the README lists;
   * anything else is refused with a JsonSchemaError before any work). The text is the value's
   * canonical form — no whitespace between tokens, like `JSON.stringify(value)` — and the generation
   * ends with finishReason 'grammar_complete' as soon as the value is complete (or at maxNewTokens,
   * with a truncated value). For other whitespace or property policies convert the schema yourself
   * with `jsonSchemaToGbnf(schema, options)` and pass the result as `grammar`.
   */
  jsonSchema?: Readonly<Record<string, unknown>> | boolean;
  /**
   * Constrain the output to a GBNF grammar (llama.cpp's syntax; the `root` rule is the whole output).
   * At each step only tokens that keep the text a valid prefix can be sampled; end-of-generation tokens
   * only where the text may end; the generation ends with 'grammar_complete' when nothing may follow.
   * The mask is applied before the sampler's penalties and biases, so logprobs see it.
   * @throws GrammarError when the text is not a valid grammar or accepts no text.
   */
  grammar?: string;
}

const GENERATE_OPTION_KEYS: readonly (keyof GenerateOptions)[] = ['signal', 'onPromptProgress', 'resume', 'logprobs', 'jsonSchema', 'grammar'];

/** The GBNF text of GenerateOptions.jsonSchema / grammar (checked here, compiled again on the model thread). */
function constraintGrammar(options: GenerateOptions): string | undefined {
  if (options.jsonSchema !== undefined && options.grammar !== undefined) throw new ConfigError('grammar', 'give either jsonSchema or grammar, not both');
  let text: string | undefined;
  if (options.jsonSchema !== undefined) text = jsonSchemaToGbnf(options.jsonSchema);
  else if (options.grammar !== undefined) {
    if (typeof options.grammar !== 'string') throw new ConfigError('grammar', 'must be GBNF text (a string)');
    text = options.grammar;
  }
  if (text !== undefined) parseGbnf(text);
  return text;
}

/** Checks GenerateOptions.resume against the vocabulary, the stop ids and maxNewTokens; returns a copy. */
function resumeIds(engine: SequenceHost, resume: unknown, gen: GenerationConfig): number[] {
  if (resume === undefined) return [];
  if (!Array.isArray(resume)) throw new ConfigError('resume', 'must be an array of token ids');
  const vocab = engine.tokenizer.vocabSize;
  const bad = resume.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= vocab);
  if (bad >= 0) throw new ConfigError('resume', `token id ${JSON.stringify(resume[bad])} at index ${bad} is not in the vocabulary (0..${vocab - 1})`);
  if (resume.length >= gen.maxNewTokens) throw new ConfigError('resume', `must hold fewer ids than maxNewTokens (${gen.maxNewTokens}), got ${resume.length}`);
  const ends = new Set([...gen.stopTokenIds, ...engine.tokenizer.endOfGenerationIds]);
  const stop = resume.findIndex((id) => ends.has(id));
  if (stop >= 0) throw new ConfigError('resume', `id ${resume[stop]} at index ${stop} ends the generation: the earlier run ended there`);
  return [...(resume as number[])];
}

/** Throws ConfigError('logitBias') for a biased id outside the vocabulary. */
function checkLogitBias(gen: GenerationConfig, vocab: number): void {
  for (const key of Object.keys(gen.logitBias)) {
    if (Number(key) >= vocab) throw new ConfigError('logitBias', `token id ${key} is not in the vocabulary (0..${vocab - 1})`);
  }
}

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
  /** The sampler's seed (given, or drawn at random for this generation). */
  seed: number;
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
  checkLogitBias(gen, engine.tokenizer.vocabSize);
  const resume = resumeIds(engine, options.resume, gen);
  checkLogprobs(options.logprobs);
  const grammar = constraintGrammar(options);
  /** Ids the model thread prefills (the resumed ids are prefilled with the prompt). */
  const prefillTokens = promptIds.length + resume.length;
  const generatedIds: number[] = [];
  const t0 = performance.now();
  let firstTokenAt = 0;
  let lastTokenAt = 0;
  let seq = -1;
  let maskMs: number | undefined;
  let cachedTokens = 0;
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
    resumeIds: resume,
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
    return Object.assign(stream, { promptIds, generatedIds, seed: gen.seed, timings: () => emptyTimings(promptIds.length) }) as GenerationStream;
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
  options.onPromptProgress?.(0, prefillTokens);
  seq = engine.startSequence(resume.length > 0 ? [...promptIds, ...resume] : promptIds, gen, sc, {
    token: (id, _prefillMs, logprobs) => {
      const now = performance.now();
      if (generatedIds.length === 0) {
        firstTokenAt = now;
        // the last prefill chunk yields the first token rather than a progress message
        if (!buffer.closed) options.onPromptProgress?.(prefillTokens, prefillTokens);
      }
      lastTokenAt = now;
      if (buffer.closed) return;
      generatedIds.push(id);
      if (log.enabled('debug')) log.debug('token', { seq, id, position: prefillTokens + generatedIds.length - 1 });
      buffer.push(id, logprobs && pieceLogprobs(engine.tokenizer, id, logprobs));
      if (!buffer.closed) armTimer();
    },
    progress: (done, total) => {
      if (buffer.closed) return;
      armTimer();
      options.onPromptProgress?.(done, total);
    },
    done: (reason, _decodeMs, extra) => {
      stopTimer();
      maskMs = extra?.maskMs;
      cachedTokens = extra?.cachedTokens ?? 0;
      buffer.finish(reason);
    },
    error: (err) => {
      stopTimer();
      buffer.fail(err);
    },
  }, { faults, resumed: resume.length, logprobs: options.logprobs, grammar });
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
      cachedPromptTokens: cachedTokens,
      ...(maskMs === undefined ? {} : { maskMs }),
    };
  };
  return Object.assign(stream, { promptIds, generatedIds, seed: gen.seed, timings }) as GenerationStream;
}

function emptyTimings(promptTokens: number): GenerationTimings {
  return { promptTokens, generatedTokens: 0, prefillMs: 0, decodeMs: 0, prefillTokensPerSecond: 0, decodeTokensPerSecond: 0, cachedPromptTokens: 0 };
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
  return { text, tokenIds, pieces, promptIds: [...stream.promptIds], finishReason, timings: stream.timings(), seed: stream.seed };
}
