/** What the Scheduler keeps of each sequence: waiting for a cache, then admitted and running. */
import type { LogitMask } from '../forward/MaskedArgmax';
import type { WorkerStartRequest } from './protocol';
import type { TokenConstraint, TokenSampler } from './SchedulerContracts';

/** A sequence that waits for its cache (the prompt cache had no room for it yet). */
export interface Waiting {
  req: WorkerStartRequest;
  sampler: TokenSampler;
  constraint: TokenConstraint | undefined;
  /** Positions its cache needs: the prompt and every token it may generate. */
  capacity: number;
}

/** An admitted sequence: its cache, sampler and constraint, and how far it has come. */
/**
 * A sequence's grammar mask handed to the forward pass for one row (Scheduler.argmaxMask): the row
 * comes back masked once `applied`, so emit does not mask it again; `error`: what the mask threw.
 */
export interface DelegatedMask {
  readonly mask: LogitMask;
  applied: boolean;
  error?: Error;
}

export interface Sequence<C> {
  req: WorkerStartRequest;
  cache: C;
  sampler: TokenSampler;
  constraint: TokenConstraint | undefined;
  /** Time spent masking logits (ms). */
  maskMs: number;
  /** The ids of the cache's positions so far and the one about to be fed (prompt, then generated ids). */
  history: number[];
  /** Prompt positions restored from the prompt cache. */
  cachedTokens: number;
  prefilled: number;
  generated: number;
  last: number;
  step: number;
  retries: number;
  failuresInStep: number;
  started: number;
  decodeStart: number;
}
