import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * A small Prometheus registry (text exposition format 0.0.4): counters and gauges with labels,
 * histograms with cumulative buckets. Enough for /metrics without another dependency.
 */
type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k])}"`).join(',')}}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function fmt(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return Number.isFinite(v) ? String(v) : 'NaN';
}

interface Metric {
  render(): string;
}

export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    if (this.values.size === 0) out += `${this.name} 0\n`;
    for (const [k, v] of this.values) out += `${this.name}${k} ${fmt(v)}\n`;
    return out;
  }
}

export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}

  render(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n${this.name} ${fmt(this.read())}\n`;
  }
}

export class Histogram implements Metric {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {
    this.counts = buckets.map(() => 0);
  }

  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) this.counts[i]++;
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    this.buckets.forEach((b, i) => (out += `${this.name}_bucket{le="${fmt(b)}"} ${this.counts[i]}\n`));
    out += `${this.name}_bucket{le="+Inf"} ${this.count}\n${this.name}_sum ${fmt(this.sum)}\n${this.name}_count ${this.count}\n`;
    return out;
  }
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * Event-loop delay of the main thread (what a request waits before it is even looked at), as a
 * summary over the whole run: p50, p99 and max in seconds.
 */
class EventLoopDelay implements Metric {
  private readonly h = monitorEventLoopDelay({ resolution: 10 });
  constructor() {
    this.h.enable();
  }

  render(): string {
    const name = 'bitnet_event_loop_delay_seconds';
    const q = (p: number) => fmt(this.h.percentile(p) / 1e9);
    return (
      `# HELP ${name} Main-thread event-loop delay since start\n# TYPE ${name} summary\n` +
      `${name}{quantile="0.5"} ${q(50)}\n${name}{quantile="0.99"} ${q(99)}\n${name}{quantile="1"} ${fmt(this.h.max / 1e9)}\n` +
      `${name}_count ${this.h.count}\n`
    );
  }

  stop(): void {
    this.h.disable();
  }
}

/** The server's metrics. Gauges read live values through the callbacks given. */
export class ServerMetrics {
  readonly requests = new Counter('bitnet_http_requests_total', 'HTTP requests by route and status code');
  readonly tokens = new Counter('bitnet_generated_tokens_total', 'Tokens generated');
  readonly promptTokens = new Counter('bitnet_prompt_tokens_total', 'Prompt tokens processed');
  readonly streams = new Counter('bitnet_streams_total', 'Generations by how they ended (completion_reason)');
  readonly cancellations = new Counter('bitnet_cancellations_total', 'Generations stopped early, by reason');
  readonly errors = new Counter('bitnet_errors_total', 'Errors by type (HTTP errors and generation errors)');
  readonly rejected = new Counter('bitnet_rejected_total', 'Requests refused with 429 because the queue was full');
  readonly ttft = new Histogram('bitnet_time_to_first_token_seconds', 'Time from admission to the first generated token', LATENCY_BUCKETS);
  readonly latency = new Histogram('bitnet_request_duration_seconds', 'Time from the request to the end of its generation', LATENCY_BUCKETS);
  readonly queueWait = new Histogram('bitnet_queue_wait_seconds', 'Time a request waited for a generation slot', LATENCY_BUCKETS);
  private readonly gauges: Gauge[];
  private readonly loopDelay = new EventLoopDelay();

  constructor(live: {
    active: () => number;
    queued: () => number;
    engineSequences: () => number;
    decodeBatch?: () => { decodeSteps: number; decodeTokens: number; maxDecodeBatch: number };
    uptimeSeconds: () => number;
  }) {
    const batch = live.decodeBatch ?? (() => ({ decodeSteps: 0, decodeTokens: 0, maxDecodeBatch: 0 }));
    this.gauges = [
      new Gauge('bitnet_streams_active', 'Generations holding a slot', live.active),
      new Gauge('bitnet_streams_queued', 'Requests waiting for a slot', live.queued),
      new Gauge('bitnet_engine_sequences', 'Sequences the engine is still running (a cancelled one leaves within one step)', live.engineSequences),
      new Gauge('bitnet_decode_batch_mean', 'Mean sequences per batched decode step since start (continuous batching)', () => {
        const b = batch();
        return b.decodeSteps > 0 ? b.decodeTokens / b.decodeSteps : 0;
      }),
      new Gauge('bitnet_decode_batch_max', 'Largest batched decode step since start', () => batch().maxDecodeBatch),
      new Gauge('bitnet_uptime_seconds', 'Seconds since the server started', live.uptimeSeconds),
    ];
  }

  /** Stops the event-loop monitor (at shutdown). */
  stop(): void {
    this.loopDelay.stop();
  }

  render(): string {
    const all: Metric[] = [
      this.requests,
      this.tokens,
      this.promptTokens,
      this.streams,
      this.cancellations,
      this.errors,
      this.rejected,
      this.ttft,
      this.latency,
      this.queueWait,
      ...this.gauges,
      this.loopDelay,
    ];
    return all.map((m) => m.render()).join('');
  }
}
