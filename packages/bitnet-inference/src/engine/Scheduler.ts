/**
 * Decides what the model thread computes next, over an abstract forward pass (so it is tested
 * without a Worker or a model, see Scheduler.spec.ts).
 *
 * Every round runs either one batched decode step — one token for each sequence past its prompt
 * (continuous batching: a sequence joins once its prompt is in and leaves when it finishes or is
 * cancelled; with more decoding sequences than one batch holds, the batch rotates) — or one prefill
 * chunk of the next sequence still reading its prompt (round robin). While both kinds of work wait
 * the two kinds alternate, so a long prompt neither waits for nor stalls the running streams; with a
 * forward pass that offers `stepMany`, they run in the same round instead: the decode batch and
 * prefill chunks of one or more prompts, filling the rest of the pass's rows, go through the weights
 * together.
 *
 * A step that throws counts as one failed attempt of each sequence in it; the step is run again on
 * a later round, and a sequence whose step failed more than its maxRetries times in a row ends with
 * an `error` message. Cancellation is seen between rounds.
 */
import { argmax } from '@bitnet/kernels';
import { tokenLogprobs } from '../sampling/Logprobs';
import type { SequenceEnd, SequenceMessage, WorkerStartRequest } from './protocol';
import type { ForwardModel, PrefixStore, SchedulerOptions, TokenConstraint } from './SchedulerContracts';
import type { DelegatedMask, Sequence, Waiting } from './SchedulerState';
import { argmaxOnly, chooseToken, delegateMask } from './TokenChoice';

export type { FaultInjector, ForwardModel, PrefixStore, SchedulerOptions, TokenConstraint, TokenSampler } from './SchedulerContracts';
export { PlannedFaults } from './PlannedFaults';

export class Scheduler<C> {
  private readonly forward: ForwardModel<C>;
  /** Where sequences' caches come from and go back to: the prompt cache, or the forward pass's own. */
  private readonly kv: PrefixStore<C>;
  private readonly send: (m: SequenceMessage) => void;
  private readonly now: () => number;
  private readonly defer: ((next: () => void) => void) | null;
  private readonly active = new Map<number, Sequence<C>>();
  /** Sequences not started yet, in arrival order: the first one waits for KV memory. */
  private readonly waiting: Waiting[] = [];
  /** Sequences in arrival order. */
  private order: number[] = [];
  /** Round robin position among the sequences in prefill. */
  private prefillCursor = 0;
  /** Where the next decode batch starts when more sequences decode than one batch holds. */
  private decodeCursor = 0;
  /** Whether the last round ran a decode step (the next one prefers prefill when both wait). */
  private decodedLast = false;
  private scheduled = false;
  private closed = false;

  constructor(private readonly options: SchedulerOptions<C>) {
    this.forward = options.forward;
    this.send = options.send;
    this.now = options.now ?? (() => performance.now());
    this.defer = options.defer === undefined ? (f) => setImmediate(f) : options.defer;
    // Without a prompt cache each sequence gets its own cache from the forward pass, at once.
    const forward = this.forward;
    this.kv = options.prefixes ?? {
      fits: () => true,
      open: (_ids, capacity) => ({ cache: forward.newCache(capacity), cachedTokens: 0 }),
      save: () => undefined,
      close: (cache) => forward.releaseCache?.(cache),
    };
  }

  /** Sequences in flight (waiting for KV memory included). */
  get size(): number {
    return this.active.size + this.waiting.length;
  }

  /** Sequences waiting for KV memory (the prompt cache's blocks) before their first step. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Adds a sequence; its first step runs on a later round (after it gets its KV memory). */
  start(req: WorkerStartRequest): void {
    if (this.closed) {
      this.send({ type: 'error', seq: req.seq, message: 'the engine is closing', retries: 0 });
      return;
    }
    const sampler = this.options.sampler(req.sampling);
    // A resumed sequence prefills prompt + resumed ids in one go; its sampler is brought to the state
    // it had after choosing the resumed ids, and they count towards maxNewTokens.
    const resumed = req.resumed ?? 0;
    const promptEnd = req.promptIds.length - resumed;
    sampler.observe(resumed > 0 ? req.promptIds.slice(0, promptEnd) : req.promptIds);
    if (resumed > 0) sampler.replay(req.promptIds.slice(promptEnd));
    let constraint: TokenConstraint | undefined;
    try {
      constraint = this.options.constraint?.(req);
      if (constraint) for (let i = promptEnd; i < req.promptIds.length; i++) constraint.accept(req.promptIds[i]);
    } catch (e) {
      this.send({ type: 'error', seq: req.seq, message: (e as Error).message, retries: 0, kind: 'grammar' });
      return;
    }
    const capacity = promptEnd + req.maxNewTokens;
    if (!this.kv.fits(capacity)) {
      this.send({ type: 'error', seq: req.seq, message: `the request needs ${capacity} positions of KV memory, more than the prompt cache holds`, retries: 0 });
      return;
    }
    this.waiting.push({ req, sampler, constraint, capacity });
    this.admit();
    this.schedule();
  }

  /**
   * Gives waiting sequences their caches, in arrival order: with a prompt cache, a sequence whose
   * blocks cannot be had yet waits (with those after it) until running sequences give theirs back.
   */
  private admit(): void {
    while (this.waiting.length > 0) {
      const w = this.waiting[0];
      let opened: { cache: C; cachedTokens: number } | undefined;
      try {
        opened = this.kv.open(w.req.promptIds, w.capacity);
      } catch (e) {
        this.waiting.shift();
        this.send({ type: 'error', seq: w.req.seq, message: (e as Error).message, retries: 0 });
        continue;
      }
      if (!opened) return;
      this.waiting.shift();
      const { cache, cachedTokens } = opened;
      this.active.set(w.req.seq, {
        req: w.req,
        cache,
        sampler: w.sampler,
        constraint: w.constraint,
        maskMs: 0,
        history: [...w.req.promptIds],
        cachedTokens,
        prefilled: cachedTokens,
        generated: w.req.resumed ?? 0,
        last: -1,
        step: 0,
        retries: 0,
        failuresInStep: 0,
        started: this.now(),
        decodeStart: 0,
      });
      this.order.push(w.req.seq);
    }
  }

  /** Ends a sequence with 'cancelled' (no-op when it has already ended). */
  cancel(seq: number): void {
    const s = this.active.get(seq);
    if (s) return this.finish(seq, s, 'cancelled');
    const i = this.waiting.findIndex((w) => w.req.seq === seq);
    if (i < 0) return;
    this.waiting.splice(i, 1);
    this.send({ type: 'done', seq, reason: 'cancelled', decodeMs: 0, retries: 0, cachedTokens: 0 });
  }

  /** Cancels everything in flight and refuses new sequences. */
  close(): void {
    this.closed = true;
    for (const w of [...this.waiting]) this.cancel(w.req.seq);
    for (const seq of [...this.order]) this.cancel(seq);
  }

  private schedule(): void {
    if (this.scheduled || this.defer === null) return;
    this.scheduled = true;
    this.defer(() => {
      this.scheduled = false;
      if (this.runRound()) this.schedule();
    });
  }

  /** Runs one round (a decode step or a prefill chunk). Returns whether work remains. */
  runRound(): boolean {
    this.admit();
    if (this.order.length === 0) {
      // nothing runs, so nothing holds KV memory: a sequence still waiting can never start
      const w = this.waiting.shift();
      if (w) this.send({ type: 'error', seq: w.req.seq, message: 'no KV memory is available for the request', retries: 0 });
      return this.waiting.length > 0;
    }
    const decoding: number[] = [];
    const prefilling: number[] = [];
    for (const seq of this.order) (this.isDecoding(this.active.get(seq)!) ? decoding : prefilling).push(seq);
    const decode = decoding.length > 0 && (!this.decodedLast || prefilling.length === 0);
    if (prefilling.length > 0 && this.forward.stepMany && this.forward.maxChunkTokens > 1 && (decoding.length > 0 || prefilling.length > 1)) {
      this.packedRound(decoding, prefilling);
    } else if (decode) {
      this.decodeRound(decoding);
    } else {
      this.prefillCursor %= prefilling.length;
      const seq = prefilling[this.prefillCursor++];
      this.guarded([seq], () => this.prefillStep(seq, this.active.get(seq)!));
    }
    this.decodedLast = decode;
    return this.order.length > 0 || this.waiting.length > 0;
  }

  private isDecoding(s: Sequence<C>): boolean {
    return s.prefilled >= s.req.promptIds.length;
  }

  /** Runs `work`; a throw is one failed attempt of each of `seqs`. */
  private guarded(seqs: number[], work: () => void): void {
    try {
      work();
      for (const seq of seqs) {
        const s = this.active.get(seq);
        if (s) s.failuresInStep = 0;
      }
    } catch (e) {
      for (const seq of seqs) this.fail(seq, e as Error);
    }
  }

  private fail(seq: number, e: Error): void {
    const s = this.active.get(seq);
    if (!s) return;
    s.failuresInStep++;
    s.retries++;
    if (s.failuresInStep > s.req.maxRetries) {
      this.remove(seq);
      this.send({ type: 'error', seq, message: e.message, retries: s.retries });
    }
  }

  private prefillStep(seq: number, s: Sequence<C>): void {
    this.options.faults?.beforeStep(s.req, s.step);
    const prompt = s.req.promptIds;
    const end = Math.min(prompt.length, s.prefilled + this.forward.maxChunkTokens);
    this.prefilled(seq, s, end, this.forward.prefill(s.cache, prompt.slice(s.prefilled, end), end === prompt.length));
  }

  /** A prefill chunk of `seq` up to `end` is in: report progress, or its first token. */
  private prefilled(seq: number, s: Sequence<C>, end: number, logits: Float32Array | undefined, delegated?: DelegatedMask): void {
    const prompt = s.req.promptIds;
    s.prefilled = end;
    s.step++;
    this.kv.save(s.cache, s.history);
    if (!logits) {
      this.send({ type: 'progress', seq, done: end, total: prompt.length });
      return;
    }
    const prefillMs = this.now() - s.started;
    s.decodeStart = this.now();
    this.emit(seq, s, logits, 0, prefillMs, delegated);
  }

  /**
   * One stepMany pass: the decode batch (at most maxChunkTokens − 1 sequences, rotating), then prefill
   * chunks of the sequences still reading their prompts — round robin from the prefill cursor — until
   * the pass's rows are full (several short prompts that arrive together are read in one pass, as
   * llama.cpp's server does). A throw is a failed attempt of every sequence in the pass.
   */
  private packedRound(decoding: number[], prefilling: number[]): void {
    const rows = this.forward.maxChunkTokens;
    const batch = decoding.length > 0 ? this.pickBatch(decoding, rows - 1) : [];
    const chunks: Array<{ seq: number; s: Sequence<C>; end: number }> = [];
    let free = rows - batch.length;
    const first = this.prefillCursor % prefilling.length;
    let tried = 0;
    for (; tried < prefilling.length && free > 0; tried++) {
      const seq = prefilling[(first + tried) % prefilling.length];
      const s = this.active.get(seq)!;
      try {
        this.options.faults?.beforeStep(s.req, s.step);
      } catch (e) {
        this.fail(seq, e as Error);
        continue;
      }
      const end = Math.min(s.req.promptIds.length, s.prefilled + free);
      chunks.push({ seq, s, end });
      free -= end - s.prefilled;
    }
    this.prefillCursor = first + Math.max(1, tried);
    if (batch.length === 0 && chunks.length === 0) return;
    const seqs = batch.map((b) => this.active.get(b)!);
    this.guarded([...batch, ...chunks.map((c) => c.seq)], () => {
      const masks = seqs.map((d) => delegateMask(d, this.now));
      const chunkMasks = chunks.map(({ s, end }) => (end < s.req.promptIds.length ? undefined : delegateMask(s, this.now)));
      const logits = this.forward.stepMany!([
        ...seqs.map((d, i) => ({ cache: d.cache, ids: [d.last], wantLogits: argmaxOnly(d) ? ('argmax' as const) : true, argmaxMask: masks[i]?.mask })),
        ...chunks.map(({ s, end }, i) => ({
          cache: s.cache,
          ids: s.req.promptIds.slice(s.prefilled, end),
          wantLogits: end < s.req.promptIds.length ? false : argmaxOnly(s) ? ('argmax' as const) : true,
          argmaxMask: chunkMasks[i]?.mask,
        })),
      ]);
      for (let i = 0; i < batch.length; i++) {
        seqs[i].step++;
        this.emit(batch[i], seqs[i], logits[i]!, batch.length, undefined, masks[i]);
      }
      chunks.forEach((c, i) => this.prefilled(c.seq, c.s, c.end, logits[batch.length + i], chunkMasks[i]));
    });
  }

  /** Up to `max` decoding sequences, rotating through them when there are more; faults are injected here. */
  private pickBatch(decoding: number[], max: number): number[] {
    const first = this.decodeCursor % decoding.length;
    const picked = decoding.length <= max ? decoding : [...decoding.slice(first), ...decoding.slice(0, first)].slice(0, max);
    this.decodeCursor = first + picked.length;
    const batch: number[] = [];
    for (const seq of picked) {
      try {
        this.options.faults?.beforeStep(this.active.get(seq)!.req, this.active.get(seq)!.step);
        batch.push(seq);
      } catch (e) {
        this.fail(seq, e as Error);
      }
    }
    return batch;
  }

  /** One batched decode step for up to maxChunkTokens decoding sequences (rotating when there are more). */
  private decodeRound(decoding: number[]): void {
    const batch = this.pickBatch(decoding, this.forward.maxChunkTokens);
    if (batch.length > 0) this.runDecode(batch);
  }

  private runDecode(batch: number[]): void {
    const seqs = batch.map((seq) => this.active.get(seq)!);
    this.guarded(batch, () => {
      const masks = seqs.map((s) => delegateMask(s, this.now));
      const logits = this.forward.decodeBatch(
        seqs.map((s) => s.cache),
        seqs.map((s) => s.last),
        seqs.map((s) => argmaxOnly(s)),
        masks.map((m) => m?.mask),
      );
      for (let i = 0; i < batch.length; i++) {
        seqs[i].step++;
        this.emit(batch[i], seqs[i], logits[i], batch.length, undefined, masks[i]);
      }
    });
  }

  /**
   * Samples the next token of a sequence, reports it and ends the sequence on a stop. Logprobs (when
   * the sequence asked for them) are read from the same logits after sample() returns, so they see
   * every adjustment the sampler made in place (repetition penalty, logit adjustments, and the
   * grammar mask applied just before sampling) and none of its draw-only steps (temperature,
   * top-k/p, min-p): the log-softmax at temperature 1 of the logits the token was chosen from.
   */
  private emit(seq: number, s: Sequence<C>, logits: Float32Array, batch: number, prefillMs?: number, delegated?: DelegatedMask): void {
    const choice = chooseToken(s, logits, this.now, this.options.argmax ?? argmax, delegated);
    if ('error' in choice) return this.abort(seq, choice.error);
    const { id, complete } = choice;
    s.last = id;
    s.generated++;
    s.history.push(id);
    if (batch > 0) this.kv.save(s.cache, s.history);
    if (s.req.logprobs === undefined) this.send({ type: 'token', seq, id, prefillMs, batch });
    else this.send({ type: 'token', seq, id, prefillMs, batch, ...(this.options.logprobs ?? tokenLogprobs)(logits, id, s.req.logprobs) });
    const stop = s.req.stopIds.find(([x]) => x === id);
    if (stop) this.finish(seq, s, stop[1]);
    else if (complete) this.finish(seq, s, 'grammar_complete');
    else if (s.generated >= s.req.maxNewTokens) this.finish(seq, s, 'max_tokens');
  }

  private finish(seq: number, s: Sequence<C>, reason: SequenceEnd): void {
    this.remove(seq);
    const maskMs = s.constraint ? { maskMs: s.maskMs } : {};
    this.send({ type: 'done', seq, reason, decodeMs: s.decodeStart ? this.now() - s.decodeStart : 0, retries: s.retries, cachedTokens: s.cachedTokens, ...maskMs });
  }

  /** Ends a sequence whose constraint failed: an error of that sequence alone, never retried. */
  private abort(seq: number, e: Error): void {
    this.remove(seq);
    this.send({ type: 'error', seq, message: e.message, retries: 0, kind: 'grammar' });
  }

  private remove(seq: number): void {
    const s = this.active.get(seq);
    if (s) this.kv.close(s.cache);
    this.active.delete(seq);
    this.order = this.order.filter((x) => x !== seq);
    this.options.faults?.forget?.(seq);
  }
}
