/**
 * What a generation needs of the engine (InferenceEngine implements it). Kept apart so that
 * Generation.ts does not import InferenceEngine.ts, which imports it.
 */
import type { Tokenizer } from '@bitnet/models';
import type { GenerationConfig } from '../config/GenerationConfig';
import type { StreamingConfig } from '../config/StreamingConfig';
import type { InferenceError } from '../errors/InferenceError';
import type { TokenLogprobs } from '../sampling/Logprobs';
import type { FaultPlan, SequenceEnd } from './protocol';

/** What the model thread reports with a sequence's end besides the reason. */
export interface SequenceDoneInfo {
  /** With a grammar: time spent computing and applying token masks (ms). */
  maskMs?: number;
  /** Prompt positions restored from the prompt cache instead of computed. */
  cachedTokens?: number;
}

/** Per-token events of one sequence, as the model thread reports them. */
export interface SequenceListener {
  /** A token was generated (`prefillMs` is set on the first one; `logprobs` when the sequence asked for them). */
  token(id: number, prefillMs?: number, logprobs?: TokenLogprobs): void;
  /** A prefill chunk finished: `done` of `total` prompt tokens are processed. */
  progress?(done: number, total: number): void;
  /** The sequence ended normally, for this reason. */
  done(reason: SequenceEnd, decodeMs: number, extra?: SequenceDoneInfo): void;
  /** The sequence failed (after its retries). */
  error(err: InferenceError): void;
}

/** Per-sequence settings of InferenceEngine.startSequence beyond the configs. */
export interface SequenceOptions {
  /** How many ids at the end of promptIds an earlier run generated (GenerateOptions.resume; default 0). */
  resumed?: number;
  /** How many alternatives each token reports with its logprob (undefined = none computed). */
  logprobs?: number;
  /** GBNF text the output must follow (already checked by the caller; compiled on the model thread). */
  grammar?: string;
  /** Test-only faults (honoured by an engine loaded with fault injection, see src/testing). */
  faults?: FaultPlan;
}

/** The engine as a generation sees it. */
export interface SequenceHost {
  readonly tokenizer: Tokenizer;
  /** Prompt ids from text or ids (ids are checked against the vocabulary); throws InferenceError. */
  promptIds(prompt: string | readonly number[], config: Pick<GenerationConfig, 'addBos'>): number[];
  /** Throws InferenceError (engine_closed, context_overflow, ...) before any work. */
  startSequence(promptIds: number[], config: GenerationConfig, streaming: StreamingConfig, listener: SequenceListener, options?: SequenceOptions): number;
  cancelSequence(seq: number): void;
}
