import { HttpError } from '../http/HttpError';

/** A held generation slot; release() is idempotent. */
export interface Slot {
  /** Gives the slot back to the admission. */
  release(): void;
}

interface Waiter {
  resolve: (slot: Slot) => void;
  reject: (e: unknown) => void;
  since: number;
}

/** Admission decided at once: a slot is held now. */
export interface Admitted {
  /** The slot; release it when the generation ends. */
  slot: Slot;
  wait?: undefined;
}

/** Admission deferred: a place in the queue. */
export interface Queued {
  slot?: undefined;
  /** Resolves with a slot when one frees up; rejects (and gives the place up) when `signal` aborts. */
  wait: (signal: AbortSignal) => Promise<Slot>;
}

/** What `Admission.tryEnter()` gives: a slot now, or a place in the queue. */
export type Ticket = Admitted | Queued;

/** Gives back a ticket that will not run (its slot, or its place in the queue). */
export function abandonTicket(ticket: Ticket): void {
  if (ticket.slot) ticket.slot.release();
  else ticket.wait(AbortSignal.abort('abandoned')).catch(() => undefined);
}

/**
 * Bounded concurrency with a bounded FIFO queue. `tryEnter()` decides at once (synchronously, before
 * any response is started) whether a request may run now, may wait, or is refused with 429; a waiting
 * request then awaits its slot and may leave the queue (client gone, shutdown).
 */
export class Admission {
  private active = 0;
  private readonly queue: Waiter[] = [];
  /** Recent generation durations (ms), for Retry-After. */
  private readonly recent: number[] = [];

  constructor(
    readonly maxConcurrent: number,
    readonly maxQueue: number,
  ) {}

  get activeCount(): number {
    return this.active;
  }

  get queuedCount(): number {
    return this.queue.length;
  }

  /**
   * Reserve a place: a slot now (`{ slot }`), a place in the queue (`{ wait }`), or a 429 HttpError
   * with Retry-After when both are full.
   */
  tryEnter(): Ticket {
    if (this.active < this.maxConcurrent && this.queue.length === 0) return { slot: this.take() };
    if (this.queue.length >= this.maxQueue) {
      const retry = this.retryAfterSeconds();
      throw new HttpError(
        429,
        'overloaded',
        `the server is busy: ${this.active} generations running (max ${this.maxConcurrent}) and ${this.queue.length} waiting (max ${this.maxQueue}); retry after ${retry} s`,
        { active: this.active, queued: this.queue.length, max_concurrent: this.maxConcurrent, max_queue: this.maxQueue, retry_after_seconds: retry },
        { 'Retry-After': String(retry) },
      );
    }
    // reserve the queue place synchronously so concurrent requests see it
    let waiter!: Waiter;
    const promise = new Promise<Slot>((resolve, reject) => {
      waiter = { resolve, reject, since: performance.now() };
    });
    this.queue.push(waiter);
    return {
      wait: (signal: AbortSignal) => {
        const onAbort = () => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          waiter.reject(signal.reason ?? new Error('aborted'));
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
        return promise.finally(() => signal.removeEventListener('abort', onAbort));
      },
    };
  }

  /** Record how long a generation held its slot (for Retry-After estimates). */
  recordDuration(ms: number): void {
    this.recent.push(ms);
    if (this.recent.length > 32) this.recent.shift();
  }

  /** Seconds until a place is likely free: the mean recent generation time, 1..60. */
  retryAfterSeconds(): number {
    if (this.recent.length === 0) return 1;
    const mean = this.recent.reduce((a, b) => a + b, 0) / this.recent.length;
    return Math.min(60, Math.max(1, Math.ceil(mean / 1000)));
  }

  private take(): Slot {
    this.active++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.active--;
        this.next();
      },
    };
  }

  private next(): void {
    while (this.active < this.maxConcurrent && this.queue.length > 0) {
      const w = this.queue.shift()!;
      w.resolve(this.take());
    }
  }
}
