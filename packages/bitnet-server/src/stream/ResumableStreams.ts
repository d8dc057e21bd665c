import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { type StopIdReason, stopIdReasons } from '@bitnet/inference';
import type { ServerMetrics } from '../http/Metrics';
import { streamLogprobs } from '../http/logprobs';
import type { Logger } from '../Logger';
import { type Ticket, abandonTicket } from './Admission';
import { CLIENT_GONE, type GenerationOutcome, type GenerationService, SHUTDOWN } from './GenerationService';
import type { LoggedEvent, StoredRequest, StreamStore } from './StreamStore';
import { pause } from './pause';

/** Abort reason of a generation whose lease another replica took (it stops at once and writes nothing more). */
export const LEASE_LOST = 'lease_lost';

/** Where a stream's events go as they are written or read: one SSE connection. */
export interface StreamSink {
  /** An event for the client (already stored, or being stored). */
  send(e: LoggedEvent): void;
  /** A comment line for the client (queued, generating, suspended…). */
  comment(text: string): void;
}

/** How one run of a stream's generation on this replica ended. */
export type GenerationEnd =
  /** The stream's last event (complete or error) is written. */
  | 'ended'
  /** Stopped without an end (client gone, or shutdown with a shared store): the lease is released, a reconnect revives it. */
  | 'suspended'
  /** Another replica holds the lease now: this one stopped writing. */
  | 'lost';

const round = (ms: number) => Math.round(ms * 100) / 100;

/** The `complete` event's payload. */
export function completePayload(o: GenerationOutcome): Record<string, unknown> {
  return {
    total_tokens: o.generatedTokens,
    total_time_ms: round(o.totalTimeMs),
    tokens_per_second: round(o.tokensPerSecond),
    completed_normally: o.completedNormally,
    completion_reason: o.reason,
    prompt_tokens: o.promptTokens,
    cached_prompt_tokens: o.cachedPromptTokens,
    time_to_first_token_ms: o.timeToFirstTokenMs === null ? null : round(o.timeToFirstTokenMs),
    finish_reason: o.finishReason,
    seed: o.seed,
  };
}

/** The `error` event's payload (recovery hints when the request asked for detailed errors). */
export function errorPayload(o: GenerationOutcome, detailed: boolean): Record<string, unknown> {
  const e = o.error!;
  const out: Record<string, unknown> = { error_type: e.type, message: e.message, tokens_before_error: o.generatedTokens };
  if (detailed) out.recovery_hints = e.recoveryHints;
  return out;
}

/** Settings of `ResumableStreams`. */
export interface ResumableStreamsOptions {
  /** How long a lease lasts without renewal (the holder renews it every third of this). */
  leaseMs: number;
}

/**
 * The /v1/stream streams of this replica over a `StreamStore`: it runs a stream's generation while
 * holding its lease (every event is sent to the client and written to the store in order), and it
 * serves reconnects (`Last-Event-ID`) on any replica: replay what the store has, follow the events
 * the owner still writes, and when the stream is suspended or its owner died (the lease is free),
 * take the lease and revive it — the engine prefills prompt + the ids already emitted and continues
 * with the same sampler state, so the client gets exactly the ids and texts of an uninterrupted run.
 */
export class ResumableStreams {
  /** This replica's name in leases (unique per process). */
  readonly replica = `${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;

  constructor(
    readonly store: StreamStore,
    private readonly service: GenerationService,
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
    private readonly options: ResumableStreamsOptions,
  ) {}

  /** Creates the stream of a new request, its lease held by this replica. */
  create(request: StoredRequest): Promise<string> {
    return this.store.create(request, this.replica, this.options.leaseMs);
  }

  /**
   * Serves one connection of stream `id` that has seen the events up to `after`: sends `pending`
   * (the events after `after` already read), then follows, revives or continues the stream until its
   * last event is sent, the client leaves, or the stream is suspended by this replica. `first`: a new
   * request whose stream this replica created and holds the lease of (its generation runs at once).
   */
  async serve(
    id: string,
    request: StoredRequest,
    after: number,
    pending: LoggedEvent[],
    sink: StreamSink,
    signal: AbortSignal,
    first?: { ticket: Ticket; startedAt: number },
  ): Promise<void> {
    let last = after;
    const track: StreamSink = {
      send: (e) => {
        if (e.seq <= last) return;
        last = e.seq;
        sink.send(e);
      },
      comment: (t) => sink.comment(t),
    };
    if (first) {
      this.metrics.generations.inc({ start: 'new' });
      const end = await this.generate(id, request, first.ticket, signal, first.startedAt, [], track);
      if (end !== 'lost') return this.ended(end, sink);
      pending = [];
    }
    for (;;) {
      for (const e of pending) {
        track.send(e);
        if (e.event !== 'token') return;
      }
      if (signal.aborted) return;
      const revived = await this.tryRevive(id, request, last, track, signal);
      if (revived === 'ended' || revived === 'suspended') return this.ended(revived, sink);
      if (signal.aborted) return;
      if (revived === 'busy') await pause(Math.min(250, this.options.leaseMs / 4), signal);
      pending = revived === 'lost' ? [] : await this.store.wait(id, last, this.options.leaseMs, signal);
      if (pending.length === 0) {
        const more = await this.store.read(id, last);
        if (!more) return; // no longer kept: the connection ends, a later reconnect gets 410
        pending = more;
      }
    }
  }

  private ended(end: GenerationEnd, sink: StreamSink): void {
    if (end === 'suspended' && this.service.shuttingDown) sink.comment('this server is shutting down: reconnect with Last-Event-ID to continue the stream');
  }

  /**
   * Takes the lease of a stream with no owner and continues it here. 'held': the lease is held
   * (its owner still generates, or another reconnect won the race); 'busy': no slot now.
   */
  private async tryRevive(id: string, request: StoredRequest, last: number, sink: StreamSink, signal: AbortSignal): Promise<GenerationEnd | 'held' | 'busy'> {
    let ticket: Ticket;
    try {
      ticket = this.service.admit();
    } catch {
      return 'busy';
    }
    if (!(await this.store.acquire(id, this.replica, this.options.leaseMs))) {
      abandonTicket(ticket);
      return 'held';
    }
    const all = await this.store.read(id, 0);
    const tokens: LoggedEvent[] = [];
    for (const e of all ?? []) {
      if (e.event !== 'token') {
        // ended while we looked: send the rest and stop
        abandonTicket(ticket);
        await this.store.release(id, this.replica);
        for (const x of all!) if (x.seq > last) sink.send(x);
        return 'ended';
      }
      tokens.push(e);
    }
    // what the previous owner wrote and this client has not seen yet comes first
    for (const e of tokens) if (e.seq > last) sink.send(e);
    if (!all) {
      // the stream's first events were dropped (longer than the store keeps): it cannot be revived
      const tail = (await this.store.read(id, last)) ?? [];
      const seq = (tail.length ? tail[tail.length - 1].seq : last) + 1;
      for (const x of tail) sink.send(x);
      const e: LoggedEvent = {
        id: `${id}:${seq}`,
        seq,
        event: 'error',
        data: { error_type: 'replay_unavailable', message: 'the stream was interrupted and its first events are no longer kept, so it cannot be continued; start a new request', tokens_before_error: seq - 1 },
      };
      abandonTicket(ticket);
      if (await this.store.append(id, e, this.replica)) sink.send(e);
      await this.store.release(id, this.replica);
      return 'ended';
    }
    // Every token was written, then the owner died before the last event: the stream ended at
    // max_tokens, or at its last token when that id ends a generation (a stop id, end of text / turn;
    // the engine refuses to resume past it, so completing here is the only way to end it cleanly).
    const ended = tokens.length >= request.generation.maxNewTokens ? ('max_tokens' as const) : this.endedBy(tokens[tokens.length - 1]?.data.token_id, request);
    if (ended) {
      abandonTicket(ticket);
      const o: GenerationOutcome = {
        reason: ended,
        completedNormally: true,
        finishReason: ended === 'max_tokens' ? 'length' : 'stop',
        promptTokens: request.promptIds.length,
        cachedPromptTokens: 0,
        generatedTokens: tokens.length,
        totalTimeMs: 0,
        timeToFirstTokenMs: null,
        tokensPerSecond: 0,
        seed: request.generation.seed,
        text: '',
        tokenIds: [],
      };
      const e: LoggedEvent = { id: `${id}:${tokens.length + 1}`, seq: tokens.length + 1, event: 'complete', data: completePayload(o) };
      if (await this.store.append(id, e, this.replica)) sink.send(e);
      await this.store.release(id, this.replica);
      this.log.info({ stream: id, start: 'revived', resumed_tokens: tokens.length, logged_tokens: 0, end: 'ended' }, 'stream generation ended');
      return 'ended';
    }
    this.metrics.generations.inc({ start: 'revived' });
    this.log.info({ stream: id, tokens: tokens.length }, 'reviving stream');
    return this.generate(id, request, ticket, signal, performance.now(), tokens, sink);
  }

  /** The reason a generation ends at `id` when that id is a stop id or ends generation (else undefined), as the engine decides it. */
  private endedBy(id: unknown, request: StoredRequest): StopIdReason | undefined {
    return typeof id === 'number' ? stopIdReasons(this.service.engine.tokenizer, request.generation.stopTokenIds).get(id) : undefined;
  }

  /**
   * Runs the generation of stream `id` here (this replica holds its lease): `logged` are the token
   * events written so far (empty for a new stream), whose ids the engine resumes from. Each new
   * event is sent, then written to the store in order; the lease is renewed meanwhile. A refused
   * write or a lost lease stops the generation ('lost').
   */
  private async generate(id: string, request: StoredRequest, ticket: Ticket, signal: AbortSignal, startedAt: number, logged: LoggedEvent[], sink: StreamSink): Promise<GenerationEnd> {
    const store = this.store;
    const controller = new AbortController();
    const forward = () => controller.abort(signal.reason);
    if (signal.aborted) forward();
    else signal.addEventListener('abort', forward, { once: true });
    let lost = false;
    const loseLease = () => {
      if (lost) return;
      lost = true;
      controller.abort(LEASE_LOST);
    };
    let seq = logged.length;
    let written = 0;
    let writes: Promise<void> = Promise.resolve();
    const append = (event: LoggedEvent['event'], data: Record<string, unknown>) => {
      if (lost) return;
      const e: LoggedEvent = { id: `${id}:${++seq}`, seq, event, data };
      sink.send(e);
      writes = writes.then(async () => {
        if (await store.append(id, e, this.replica)) {
          if (event === 'token') written++;
        } else loseLease();
      });
    };
    const renewal = setInterval(() => {
      void store.renew(id, this.replica, this.options.leaseMs).then((r) => r === 'lost' && loseLease());
    }, Math.max(50, Math.floor(this.options.leaseMs / 3)));
    renewal.unref();
    const suspends = (reason: string) => reason === CLIENT_GONE || reason === LEASE_LOST || (reason === SHUTDOWN && store.shared);
    let outcome: GenerationOutcome;
    try {
      outcome = await this.service.run(
        ticket,
        request.promptIds,
        request.generation,
        request.streaming,
        controller.signal,
        startedAt,
        {
          onQueued: () => sink.comment(`queued (${this.service.admission.queuedCount} waiting)`),
          onStarted: () => sink.comment('generating'),
          onToken: (t) => append('token', { token: t.text, token_id: t.id, cumulative_time_ms: round(t.cumulativeMs), position: t.position, ...streamLogprobs(t) }),
          suspends,
        },
        { resume: logged.map((e) => e.data.token_id as number), resumeText: logged.map((e) => e.data.token as string).join(''), logprobs: request.logprobs, grammar: request.grammar },
      );
    } finally {
      clearInterval(renewal);
      signal.removeEventListener('abort', forward);
    }
    const end = await this.finish(id, outcome, request, controller.signal, () => lost, suspends, append, () => writes);
    // one line per run: the tokens it wrote (over all replicas, a stream's runs write each token once)
    this.log.info({ stream: id, start: logged.length > 0 ? 'revived' : 'new', resumed_tokens: logged.length, logged_tokens: written, end }, 'stream generation ended');
    return end;
  }

  /** Ends a run: nothing more when the lease is lost; release when suspended; else the last event, then release. */
  private async finish(
    id: string,
    outcome: GenerationOutcome,
    request: StoredRequest,
    signal: AbortSignal,
    lost: () => boolean,
    suspends: (reason: string) => boolean,
    append: (event: LoggedEvent['event'], data: Record<string, unknown>) => void,
    writes: () => Promise<void>,
  ): Promise<GenerationEnd> {
    const why = signal.aborted ? String(signal.reason) : '';
    if (lost() || why === LEASE_LOST) {
      await writes();
      return 'lost';
    }
    // stopped early (not a generation that reached its end just before the abort): continue it later
    if (!outcome.error && !outcome.completedNormally && signal.aborted && suspends(why)) {
      await writes();
      await this.store.release(id, this.replica);
      return 'suspended';
    }
    append(outcome.error ? 'error' : 'complete', outcome.error ? errorPayload(outcome, request.detailedErrors) : completePayload(outcome));
    await writes();
    if (lost()) return 'lost';
    await this.store.release(id, this.replica);
    return 'ended';
  }
}
