/**
 * Test support (not part of the built package): bitnet-server replicas as real child processes
 * sharing one Redis, on fixed free ports (so a load balancer's upstream list stays valid across a
 * restart), plus a client that reconnects with Last-Event-ID the way a browser would.
 */
import { type ServerProcess, type SseEventRecord, postSse, spawnServerBin } from './harness';
import { freePort } from './redisServer';

/** One replica: its process, its fixed port, and every line it logged (over restarts). */
export class Replica {
  proc!: ServerProcess;
  /** stderr of earlier incarnations (restart keeps what they logged). */
  private earlier = '';

  private constructor(
    readonly port: number,
    private readonly args: string[],
    private readonly env: Record<string, string>,
  ) {}

  /** Starts `bitnet-server` on a free port with the tiny model and `--redis-url`. */
  static async start(modelPath: string, redisUrl: string, extra: string[] = [], env: Record<string, string> = {}): Promise<Replica> {
    const port = await freePort();
    const args = ['--model', modelPath, '--port', String(port), '--redis-url', redisUrl, '--prefill-chunk', '4', '--max-concurrent', '8', '--max-queue', '32', '--keep-alive-ms', '200', ...extra];
    const r = new Replica(port, args, { BITNET_LOG_LEVEL: 'info', ...env });
    await r.spawn();
    return r;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private async spawn(): Promise<void> {
    this.proc = await spawnServerBin(this.args, this.env);
  }

  /** Everything this replica logged (all incarnations), parsed JSON lines. */
  logLines(): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    for (const line of (this.earlier + this.proc.stderr()).split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        out.push(JSON.parse(line));
      } catch {
        // a partial line
      }
    }
    return out;
  }

  /** SIGKILL: the replica dies mid-whatever, holding its leases. */
  async kill(): Promise<void> {
    this.proc.proc.kill('SIGKILL');
    await this.proc.exited;
  }

  /** SIGTERM and wait for the exit (graceful: streams are suspended for other replicas). */
  async stop(): Promise<number | string> {
    if (this.proc.proc.exitCode !== null || this.proc.proc.signalCode !== null) return this.proc.proc.exitCode ?? this.proc.proc.signalCode!;
    this.proc.proc.kill('SIGTERM');
    return this.proc.exited;
  }

  /** Starts it again on the same port (after stop or kill). */
  async restart(): Promise<void> {
    this.earlier += this.proc.stderr();
    await this.spawn();
  }

  get alive(): boolean {
    return this.proc.proc.exitCode === null && this.proc.proc.signalCode === null;
  }
}

/** What a resuming client saw of one stream: every event once, in order, and how many connections it took. */
export interface ResumedStream {
  events: SseEventRecord[];
  connections: number;
  streamId: string;
}

/**
 * POSTs /v1/stream to `urls()` (called per connection: a fixed URL, or a pick among replicas) and
 * reconnects with Last-Event-ID whenever a connection ends without the final event — after
 * `dropAfter(connection)` events this client drops the connection itself (undefined: never).
 */
export async function resumingStream(
  urls: () => string,
  body: unknown,
  options: { dropAfter?: (connection: number) => number | undefined; maxConnections?: number; pauseMs?: number } = {},
): Promise<ResumedStream> {
  const events: SseEventRecord[] = [];
  let connections = 0;
  let streamId = '';
  const max = options.maxConnections ?? 50;
  for (;;) {
    if (connections >= max) throw new Error(`stream ${streamId} did not finish within ${max} connections`);
    const n = options.dropAfter?.(connections);
    const drop = new AbortController();
    let seen = 0;
    const last = events[events.length - 1]?.id;
    connections++;
    let r;
    try {
      r = await postSse(`${urls()}/v1/stream`, last ? undefined : body, {
        headers: last ? { 'Last-Event-ID': last } : {},
        signal: drop.signal,
        onEvent: (e) => {
          events.push(e);
          if (n !== undefined && ++seen >= n && e.event === 'token') drop.abort();
        },
      });
    } catch {
      // connection refused or reset (a replica went away): reconnect
      await new Promise((res) => setTimeout(res, options.pauseMs ?? 100));
      continue;
    }
    if (!streamId) streamId = r.headers.get('x-stream-id') ?? events[0]?.id?.split(':')[0] ?? '';
    if (r.status !== 200 && r.status !== 0) {
      if (r.status === 502 || r.status === 503 || r.status === 429) {
        await new Promise((res) => setTimeout(res, options.pauseMs ?? 100));
        continue;
      }
      throw new Error(`stream ${streamId}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    }
    const end = events[events.length - 1];
    if (end && end.event !== 'token') return { events, connections, streamId };
  }
}
