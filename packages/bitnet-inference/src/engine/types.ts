/**
 * What a generation needs of the engine (InferenceEngine implements it). Kept apart so that
 * Generation.ts does not import InferenceEngine.ts, which imports it.
 */
import type { Tokenizer } from '@bitnet/models';
import type { GenerationConfig } from '../config/GenerationConfig';
import type { StreamingConfig } from '../config/StreamingConfig';
import type { InferenceError } from '../errors/InferenceError';
import type { FaultPlan, SequenceEnd } from './protocol';

/** Per-token events of one sequence, as the model thread reports them. */
export interface SequenceListener {
  /** A token was generated (`prefillMs` is set on the first one). */
  token(id: number, prefillMs?: number): void;
  /** A prefill chunk finished: `done` of `total` prompt tokens are processed. */
  progress?(done: number, total: number): void;
  /** The sequence ended normally, for this reason. */
  done(reason: SequenceEnd, decodeMs: number): void;
  /** The sequence failed (after its retries). */
  error(err: InferenceError): void;
}

/** The engine as a generation sees it. */
export interface SequenceHost {
  readonly tokenizer: Tokenizer;
  /** Prompt ids from text or ids (ids are checked against the vocabulary); throws InferenceError. */
  promptIds(prompt: string | readonly number[], config: Pick<GenerationConfig, 'addBos'>): number[];
  /**
   * Throws InferenceError (engine_closed, context_overflow, ...) before any work. `resumed`: how many
   * ids at the end of promptIds an earlier run generated (GenerateOptions.resume; default 0).
   */
  startSequence(promptIds: number[], config: GenerationConfig, streaming: StreamingConfig, listener: SequenceListener, faults?: FaultPlan, resumed?: number): number;
  cancelSequence(seq: number): void;
}
