/**
 * What the Scheduler (Scheduler.ts) needs of the model thread, as interfaces: the forward pass, the
 * sampler, a sequence's constraint (grammar), the prompt cache's KV memory, fault injection, and the
 * scheduler's options. The worker implements them over the real model; the specs over fakes.
 */
import type { LogitMask } from '../forward/MaskedArgmax';
import type { TokenLogprobs } from '../sampling/Logprobs';
import type { SamplingParams, SequenceMessage, WorkerStartRequest } from './protocol';

/** What the scheduler needs of a forward pass; `C` is its per-sequence cache. */
export interface ForwardModel<C> {
  /** Most tokens one prefill step takes, and most sequences one decode step takes. */
  readonly maxChunkTokens: number;
  newCache(capacity: number): C;
  /** Optional: the sequence of `cache` has ended (its memory can go back at once). */
  releaseCache?(cache: C): void;
  /** Appends `ids` to the cache; returns the logits of the last one when `last` is true. */
  prefill(cache: C, ids: number[], last: boolean): Float32Array | undefined;
  /**
   * One token for each cache; returns each one's logits. `argmaxOnly[i]`: sequence i only takes the
   * largest logit (see TokenSampler.argmaxOnly), so its row may hold exact logits for the tokens that
   * could be largest and −Infinity elsewhere (a screened output matrix). `argmaxMasks[i]`: a mask (a
   * grammar's) row i comes back with applied (see ForwardPart.argmaxMask).
   */
  decodeBatch(caches: C[], lastIds: number[], argmaxOnly?: boolean[], argmaxMasks?: Array<LogitMask | undefined>): Float32Array[];
  /**
   * Optional: several sequences' rows in one pass (at most maxChunkTokens in all; distinct caches);
   * each part gets its last row's logits when it asks. Rows never mix: the same results as running
   * each part alone.
   */
  stepMany?(parts: Array<{ cache: C; ids: number[]; wantLogits: boolean | 'argmax'; argmaxMask?: LogitMask }>): Array<Float32Array | undefined>;
}

/** Chooses tokens for one sequence. */
export interface TokenSampler {
  /** Ids the repetition penalty considers (the prompt). */
  observe(ids: readonly number[]): void;
  /** Takes the state sample() would leave after choosing `ids` (resumed ids), without logits. */
  replay(ids: readonly number[]): void;
  /** Chooses the next token. */
  sample(logits: Float32Array): number;
  /**
   * True when sample() is the argmax of the logits as given, nothing adjusted (greedy, no penalty or
   * bias): the scheduler may then ask for argmax-only logits (ForwardModel.decodeBatch).
   */
  readonly argmaxOnly?: boolean;
}

/**
 * Restricts which tokens a sequence may take (a grammar). Both methods run on the model thread
 * between steps; a throw ends that sequence alone with an error (no retry: it is not a step failure).
 */
export interface TokenConstraint {
  /** Sets the logits of the tokens not allowed next to −Infinity, in place, before sampling. */
  mask(logits: Float32Array): unknown;
  /**
   * The mask's verdict on one token: true exactly when mask() would leave its logit as it is. With it,
   * a greedy row is settled by checking its largest logits first (settleMaskedArgmax), and the mask
   * runs only when none of them is allowed.
   */
  allows?(id: number): boolean;
  /** Follows the chosen (or a resumed) token; returns true when the text is complete and must end. */
  accept(id: number): boolean;
}

/**
 * The KV memory of the sequences when the prompt cache is on (the worker's is cache/KvPrefixCache.ts):
 * sequences' caches come from it, and the keys and values of processed ids stay in it for later
 * sequences. Without one, the scheduler uses the forward pass's newCache / releaseCache the same way.
 * Every method runs on the model thread between steps.
 */
export interface PrefixStore<C> {
  /** Whether a sequence of `capacity` positions can ever be admitted. */
  fits(capacity: number): boolean;
  /**
   * A cache of `capacity` positions holding the longest stored prefix of `ids` (never all of them) and
   * that prefix's length; undefined when the memory it needs is held by running sequences (it waits).
   */
  open(ids: readonly number[], capacity: number): { cache: C; cachedTokens: number } | undefined;
  /** Stores what passes have newly completed in `cache`, whose positions hold `ids` (the first ones). */
  save(cache: C, ids: readonly number[]): void;
  /** The sequence of `cache` is over: its memory is given back (what `save` stored stays). */
  close(cache: C): void;
}

/** Test-only: runs before each step of a sequence; may throw (a failing step) or take long (a stall). */
export interface FaultInjector {
  beforeStep(req: WorkerStartRequest, step: number): void;
  /** The sequence has ended (forget its state). */
  forget?(seq: number): void;
}

export interface SchedulerOptions<C> {
  forward: ForwardModel<C>;
  sampler: (params: SamplingParams) => TokenSampler;
  /** A token's logprobs, for a sequence that asks for them (default tokenLogprobs with the TypeScript kernels). */
  logprobs?: (logits: Float32Array, chosen: number, top: number) => TokenLogprobs;
  /** The argmax of a row (ties to the lower id), for a greedy row under a lazy grammar (default the TypeScript kernel's). */
  argmax?: (logits: Float32Array) => number;
  /** The constraint of a sequence that asks for one (WorkerStartRequest.grammar); may throw. */
  constraint?: (req: WorkerStartRequest) => TokenConstraint | undefined;
  /** The prompt cache (none by default). */
  prefixes?: PrefixStore<C>;
  /** Receives every per-sequence message, in order. */
  send: (m: SequenceMessage) => void;
  /** Fault injection (tests only); none by default. */
  faults?: FaultInjector;
  /** Runs the next round later (default setImmediate, so messages in between are seen); null = never by itself, call runRound(). */
  defer?: ((next: () => void) => void) | null;
  /** Milliseconds clock (default performance.now). */
  now?: () => number;
}
