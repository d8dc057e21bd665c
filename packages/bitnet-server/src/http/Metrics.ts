import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { PromptCacheStats } from '@bitnet/inference';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * `bitnet_event_loop_delay_seconds`: the main thread's event-loop delay since start (how long a
 * request waits before it is even looked at) as a summary with quantiles 0.5, 0.99 and 1 (max).
 * prom-client's Summary only knows observed values, so this object hands the registry the numbers
 * read from Node's own histogram; the registry formats them like any other metric.
 */
function eventLoopDelayMetric() {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  const name = 'bitnet_event_loop_delay_seconds';
  const help = 'Main-thread event-loop delay since start';
  const seconds = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
  return {
    name,
    help,
    type: 'summary',
    aggregator: 'average',
    get: async () => ({
      name,
      help,
      type: 'summary',
      aggregator: 'average',
      values: [
        { labels: { quantile: 0.5 }, value: seconds(h.percentile(50)) },
        { labels: { quantile: 0.99 }, value: seconds(h.percentile(99)) },
        { labels: { quantile: 1 }, value: seconds(h.max) },
        { metricName: `${name}_count`, labels: {}, value: h.count },
      ],
    }),
    reset: () => h.reset(),
    stop: () => h.disable(),
  };
}

/**
 * The server's Prometheus metrics, in a registry of its own (so that several servers in one process
 * do not share counters) with Node's default process metrics beside them. Gauges read live values
 * through the callbacks given when /metrics is scraped.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'bitnet_http_requests_total', help: 'HTTP requests by route and status code', labelNames: ['route', 'method', 'status'] as const, registers: [this.registry] });
  readonly tokens = new Counter({ name: 'bitnet_generated_tokens_total', help: 'Tokens generated', registers: [this.registry] });
  readonly promptTokens = new Counter({ name: 'bitnet_prompt_tokens_total', help: 'Prompt tokens processed', registers: [this.registry] });
  readonly promptTokensCached = new Counter({ name: 'bitnet_prompt_tokens_cached_total', help: 'Prompt tokens whose keys and values were restored from the prompt cache', registers: [this.registry] });
  readonly promptTokensComputed = new Counter({ name: 'bitnet_prompt_tokens_computed_total', help: 'Prompt tokens computed by prefill (prompt tokens minus cached ones)', registers: [this.registry] });
  readonly streams = new Counter({ name: 'bitnet_streams_total', help: 'Generations by how they ended (completion_reason)', labelNames: ['completion_reason'] as const, registers: [this.registry] });
  readonly cancellations = new Counter({ name: 'bitnet_cancellations_total', help: 'Generations stopped early, by reason', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly errors = new Counter({ name: 'bitnet_errors_total', help: 'Errors by type (HTTP errors and generation errors)', labelNames: ['type'] as const, registers: [this.registry] });
  readonly rejected = new Counter({ name: 'bitnet_rejected_total', help: 'Requests refused with 429 because the queue was full', registers: [this.registry] });
  readonly ttft = new Histogram({ name: 'bitnet_time_to_first_token_seconds', help: 'Time from admission to the first generated token', buckets: LATENCY_BUCKETS, registers: [this.registry] });
  readonly latency = new Histogram({ name: 'bitnet_request_duration_seconds', help: 'Time from the request to the end of its generation', buckets: LATENCY_BUCKETS, registers: [this.registry] });
  readonly queueWait = new Histogram({ name: 'bitnet_queue_wait_seconds', help: 'Time a request waited for a generation slot', buckets: LATENCY_BUCKETS, registers: [this.registry] });
  readonly generations = new Counter({
    name: 'bitnet_stream_generations_total',
    help: "Runs of /v1/stream generations on this replica, by start: 'new' (a request) or 'revived' (an interrupted stream continued after a reconnect or its replica's death)",
    labelNames: ['start'] as const,
    registers: [this.registry],
  });
  private readonly loopDelay = eventLoopDelayMetric();

  constructor(live: {
    active: () => number;
    queued: () => number;
    engineSequences: () => number;
    decodeBatch?: () => { decodeSteps: number; decodeTokens: number; maxDecodeBatch: number };
    uptimeSeconds: () => number;
    /** 1 while the stream store cannot reach Redis (streams kept in this replica only). */
    storeDegraded?: () => number;
    /** The engine's prompt cache counters (undefined: no cache, or no sequence has ended yet). */
    promptCache?: () => PromptCacheStats | undefined;
  }) {
    const batch = live.decodeBatch ?? (() => ({ decodeSteps: 0, decodeTokens: 0, maxDecodeBatch: 0 }));
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
    gauge('bitnet_streams_active', 'Generations holding a slot', live.active);
    gauge('bitnet_streams_queued', 'Requests waiting for a slot', live.queued);
    gauge('bitnet_engine_sequences', 'Sequences the engine is still running (a cancelled one leaves within one step)', live.engineSequences);
    gauge('bitnet_decode_batch_mean', 'Mean sequences per batched decode step since start (continuous batching)', () => {
      const b = batch();
      return b.decodeSteps > 0 ? b.decodeTokens / b.decodeSteps : 0;
    });
    gauge('bitnet_decode_batch_max', 'Largest batched decode step since start', () => batch().maxDecodeBatch);
    gauge('bitnet_uptime_seconds', 'Seconds since the server started', live.uptimeSeconds);
    gauge('bitnet_stream_store_degraded', '1 while the shared stream store (Redis) is unreachable and streams are kept in this replica only', live.storeDegraded ?? (() => 0));
    const cache = live.promptCache ?? (() => undefined);
    gauge('bitnet_prompt_cache_bytes', 'Bytes of prompt cache block storage touched so far', () => cache()?.bytes ?? 0);
    gauge('bitnet_prompt_cache_limit_bytes', 'Bytes the prompt cache may hold (--prompt-cache-mb, whole blocks; 0 = off)', () => cache()?.limitBytes ?? 0);
    gauge('bitnet_prompt_cache_blocks', 'Blocks holding a cached prompt prefix that no running request holds', () => cache()?.cachedBlocks ?? 0);
    gauge('bitnet_prompt_cache_used_blocks', 'KV blocks held by running requests (the prompt cache pool is also their KV memory)', () => cache()?.usedBlocks ?? 0);
    // the engine counts evictions since load: the counter follows it at each scrape
    let evicted = 0;
    new Counter({
      name: 'bitnet_prompt_cache_evicted_blocks_total',
      help: 'Prompt cache blocks evicted (least recently used first) to make room',
      registers: [this.registry],
      collect() {
        const now = cache()?.evictedBlocks ?? 0;
        if (now > evicted) this.inc(now - evicted);
        evicted = Math.max(evicted, now);
      },
    });
    this.registry.registerMetric(this.loopDelay as unknown as Metric);
    collectDefaultMetrics({ register: this.registry });
  }

  /** The Content-Type of render()'s text (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Stops the event-loop monitor (at shutdown). */
  stop(): void {
    this.loopDelay.stop();
  }

  /** Every metric in Prometheus' text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
