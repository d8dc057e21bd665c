import { parseArgs } from 'node:util';
import { LOG_LEVELS, type LogLevel } from './Logger';

/** The server's settings: command line, then environment, then DEFAULT_OPTIONS (see parseServerOptions). */
export interface ServerOptions {
  port: number;
  host: string;
  /** GGUF path; undefined = the bundled default model (see resolveModelPath in server.ts). */
  model?: string;
  /** Kernel threads of the model thread's pool (EngineOptions.threads); undefined = one per core. */
  threads?: number;
  maxConcurrent: number;
  maxQueue: number;
  apiKey?: string;
  logLevel: LogLevel;
  /** Largest request body in bytes (413 above). */
  maxBodyBytes: number;
  /** max_tokens when a /v1/stream request gives none. */
  defaultMaxTokens: number;
  /** Interval of SSE keep-alive comments (while queued, in prefill, between tokens). */
  keepAliveMs: number;
  /** Longest one engine step may take before a token_timeout error. */
  tokenTimeoutMs: number;
  /** Most prompt tokens per prefill step (smaller = cancellation and other streams react sooner). */
  prefillChunk: number;
  /** Longest a graceful shutdown waits for responses to end before closing sockets. */
  shutdownTimeoutMs: number;
  /** Nice steps the model's threads run below the HTTP thread (0 = same priority). */
  computeNice: number;
  /** Hold the output (logits) matrix as Q8_0 (EngineOptions.outputType 'q8_0'): faster decode, slightly inexact logits. */
  outputQ8: boolean;
  /**
   * Keep the exact output matrix and screen it with an int8 copy (EngineOptions.outputType 'screened'):
   * greedy requests get the exact tokens from about half the bytes read per token.
   */
  outputScreened: boolean;
  /** Origins allowed to call the API from a browser page (CORS); empty: no CORS headers at all. */
  corsOrigins: string[];
  /** Serve the browser playground at GET / (--no-playground, BITNET_PLAYGROUND=0 turn it off). */
  playground: boolean;
  /**
   * Redis that the replicas share (`redis://host:port`): /v1/stream streams are written there, so a
   * reconnect to any replica replays them and revives them when their replica died. Undefined: streams
   * are kept in this process only.
   */
  redisUrl?: string;
  /** How long a replica's lease on a stream it generates lasts without renewal (failover happens after it expires). */
  streamLeaseMs: number;
  /**
   * Megabytes of the prompt cache (EngineOptions.promptCacheMb): 0 disables it; undefined = the
   * default sized from the model and free memory at start (see defaultPromptCacheMb in promptCache.ts).
   */
  promptCacheMb?: number;
}

/**
 * Every setting's default (model, threads, apiKey, redisUrl and promptCacheMb have none here: bundled
 * model, one thread per core, no key, streams in this process, a prompt cache sized at start).
 */
export const DEFAULT_OPTIONS: Omit<ServerOptions, 'model' | 'threads' | 'apiKey' | 'redisUrl' | 'promptCacheMb'> = {
  port: 8080,
  host: '127.0.0.1',
  maxConcurrent: 4,
  maxQueue: 16,
  logLevel: 'info',
  maxBodyBytes: 1024 * 1024,
  defaultMaxTokens: 128,
  keepAliveMs: 5000,
  tokenTimeoutMs: 30_000,
  prefillChunk: 64,
  shutdownTimeoutMs: 5000,
  computeNice: 5,
  outputQ8: false,
  outputScreened: false,
  corsOrigins: [],
  playground: true,
  streamLeaseMs: 3000,
};

/** The `--help` text. */
export const USAGE = `usage: bitnet-server [--model M] [--port 8080] [--host 127.0.0.1] [--threads N]
                     [--max-concurrent 4] [--max-queue 16] [--api-key KEY] [--log-level info]
                     [--max-body-bytes 1048576] [--default-max-tokens 128] [--keep-alive-ms 5000]
                     [--token-timeout-ms 30000] [--prefill-chunk 64] [--shutdown-timeout-ms 5000]
                     [--compute-nice 5] [--output-q8 | --output-screened] [--cors-origin ORIGIN ...]
                     [--no-playground]
                     [--redis-url redis://HOST:PORT] [--stream-lease-ms 3000] [--prompt-cache-mb N]

Every option has an environment variable: BITNET_MODEL, BITNET_PORT (or PORT), BITNET_HOST,
BITNET_THREADS, BITNET_MAX_CONCURRENT, BITNET_MAX_QUEUE, BITNET_API_KEY, BITNET_LOG_LEVEL,
BITNET_MAX_BODY_BYTES, BITNET_DEFAULT_MAX_TOKENS, BITNET_KEEP_ALIVE_MS, BITNET_TOKEN_TIMEOUT_MS,
BITNET_PREFILL_CHUNK, BITNET_SHUTDOWN_TIMEOUT_MS, BITNET_COMPUTE_NICE, BITNET_OUTPUT_Q8 (1 or 0),
BITNET_OUTPUT_SCREENED (1 or 0),
BITNET_CORS_ORIGIN (comma-separated), BITNET_PLAYGROUND (0 = --no-playground), BITNET_REDIS_URL,
BITNET_STREAM_LEASE_MS, BITNET_PROMPT_CACHE_MB.
Command-line options win.
--compute-nice lowers the priority of the model's threads (Linux nice steps) so that HTTP requests
(/health, new streams) are answered at once while every core computes tokens.
--output-q8 holds an F16/BF16/F32 output (logits) matrix as Q8_0, re-encoded at load: about half the
bytes read per token (faster decode on large vocabularies) for slightly inexact logits; /health says
which output type is in use.
--output-screened keeps the exact output matrix and adds an int8 copy that screens it: a greedy request
(temperature 0, no penalties, bias, grammar or logprobs) gets exactly the tokens of the exact matrix
while each step reads the copy and a few exact rows; other requests read the exact matrix. Costs the
copy's memory (about half the F16 matrix).
--cors-origin lets pages from ORIGIN (scheme://host[:port], or *) call the API: repeat it or separate
origins with commas. Off by default.
--redis-url makes replicas share their /v1/stream streams: a client that reconnects with
Last-Event-ID to any replica gets the events it missed, then the rest of the stream — continued by
that replica if the one generating it died (its lease, --stream-lease-ms, expired). If Redis is
unreachable the server keeps serving with streams kept in this process, /health says "degraded",
and it reconnects with backoff.
--prompt-cache-mb keeps the keys and values of processed prompts and replies (blocks of 64
positions) so a request that starts like an earlier one (a chat's next turn, a shared system prompt)
computes only the rest; results are identical. 0 disables it. Default: the smallest of 1024 MB, a
quarter of the memory free at start, and the model file's size (at least 16 MB). /health says the
size in use.
Logs are JSON lines (pino) on stderr at --log-level; BITNET_LOG=target=level adds the engine's own
records to the same stream.
Without --model the model bundled with @bitnet/inference is served.`;

/** A command-line option or environment variable the server cannot use; the message names it. */
export class OptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionsError';
  }
}

const INT_OPTIONS: Record<string, { key: keyof ServerOptions; env: string[]; min: number; max: number }> = {
  port: { key: 'port', env: ['BITNET_PORT', 'PORT'], min: 0, max: 65535 },
  threads: { key: 'threads', env: ['BITNET_THREADS'], min: 1, max: 256 },
  'max-concurrent': { key: 'maxConcurrent', env: ['BITNET_MAX_CONCURRENT'], min: 1, max: 1024 },
  'max-queue': { key: 'maxQueue', env: ['BITNET_MAX_QUEUE'], min: 0, max: 100_000 },
  'max-body-bytes': { key: 'maxBodyBytes', env: ['BITNET_MAX_BODY_BYTES'], min: 64, max: 64 * 1024 * 1024 },
  'default-max-tokens': { key: 'defaultMaxTokens', env: ['BITNET_DEFAULT_MAX_TOKENS'], min: 1, max: 1_000_000 },
  'keep-alive-ms': { key: 'keepAliveMs', env: ['BITNET_KEEP_ALIVE_MS'], min: 10, max: 600_000 },
  'token-timeout-ms': { key: 'tokenTimeoutMs', env: ['BITNET_TOKEN_TIMEOUT_MS'], min: 1, max: 600_000 },
  'prefill-chunk': { key: 'prefillChunk', env: ['BITNET_PREFILL_CHUNK'], min: 1, max: 4096 },
  'shutdown-timeout-ms': { key: 'shutdownTimeoutMs', env: ['BITNET_SHUTDOWN_TIMEOUT_MS'], min: 0, max: 600_000 },
  'compute-nice': { key: 'computeNice', env: ['BITNET_COMPUTE_NICE'], min: 0, max: 19 },
  'stream-lease-ms': { key: 'streamLeaseMs', env: ['BITNET_STREAM_LEASE_MS'], min: 200, max: 600_000 },
  'prompt-cache-mb': { key: 'promptCacheMb', env: ['BITNET_PROMPT_CACHE_MB'], min: 0, max: 1 << 20 },
};

/** Options from the command line, then the environment, then the defaults. */
export function parseServerOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): ServerOptions & { help: boolean } {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    const strings = Object.fromEntries(Object.keys(INT_OPTIONS).map((k) => [k, { type: 'string' as const }]));
    ({ values } = parseArgs({
      args: argv,
      options: {
        ...strings,
        model: { type: 'string', short: 'm' },
        host: { type: 'string' },
        'api-key': { type: 'string' },
        'redis-url': { type: 'string' },
        'log-level': { type: 'string' },
        'output-q8': { type: 'boolean' },
        'output-screened': { type: 'boolean' },
        'cors-origin': { type: 'string', multiple: true },
        'no-playground': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new OptionsError((e as Error).message);
  }
  const out: ServerOptions & { help: boolean } = { ...DEFAULT_OPTIONS, help: values.help === true };
  for (const [name, spec] of Object.entries(INT_OPTIONS)) {
    const envName = spec.env.find((n) => env[n] !== undefined && env[n] !== '');
    const raw = (values[name] as string | undefined) ?? (envName ? env[envName] : undefined);
    if (raw === undefined) continue;
    const source = values[name] !== undefined ? `--${name}` : envName!;
    if (!/^\d+$/.test(raw.trim())) throw new OptionsError(`${source}: expected an integer, got ${JSON.stringify(raw)}`);
    const n = Number(raw);
    if (n < spec.min || n > spec.max) throw new OptionsError(`${source}: must be from ${spec.min} to ${spec.max}, got ${n}`);
    (out as unknown as Record<string, number>)[spec.key] = n;
  }
  const str = (flag: string, envName: string) => (values[flag] as string | undefined) ?? (env[envName] || undefined);
  out.model = str('model', 'BITNET_MODEL');
  out.host = str('host', 'BITNET_HOST') ?? out.host;
  out.apiKey = str('api-key', 'BITNET_API_KEY');
  out.redisUrl = str('redis-url', 'BITNET_REDIS_URL');
  if (out.redisUrl !== undefined && !/^rediss?:\/\/[^\s]+$/.test(out.redisUrl)) {
    throw new OptionsError(`${values['redis-url'] !== undefined ? '--redis-url' : 'BITNET_REDIS_URL'}: expected redis://host:port (or rediss://), got ${JSON.stringify(out.redisUrl)}`);
  }
  const level = str('log-level', 'BITNET_LOG_LEVEL');
  if (level !== undefined) {
    if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new OptionsError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
    out.logLevel = level as LogLevel;
  }
  out.outputQ8 = flagOrEnv(values['output-q8'] === true, env, 'BITNET_OUTPUT_Q8');
  out.outputScreened = flagOrEnv(values['output-screened'] === true, env, 'BITNET_OUTPUT_SCREENED');
  if (out.outputQ8 && out.outputScreened) throw new OptionsError('--output-q8 and --output-screened: choose one way to hold the output matrix');
  const corsFlags = values['cors-origin'] as string[] | undefined;
  const corsRaw = corsFlags?.length ? corsFlags : env.BITNET_CORS_ORIGIN ? [env.BITNET_CORS_ORIGIN] : [];
  const corsSource = corsFlags?.length ? '--cors-origin' : 'BITNET_CORS_ORIGIN';
  out.corsOrigins = corsRaw.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  for (const origin of out.corsOrigins) {
    if (origin !== '*' && !isOrigin(origin)) throw new OptionsError(`${corsSource}: ${JSON.stringify(origin)} is not an origin (scheme://host[:port], or *)`);
  }
  const pg = env.BITNET_PLAYGROUND?.trim().toLowerCase();
  if (values['no-playground'] === true || pg === '0' || pg === 'false') out.playground = false;
  return out;
}

function isOrigin(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === s;
  } catch {
    return false;
  }
}

/** A boolean switch: on from its flag, else from `name` in the environment (1/true or 0/false; empty: off). */
function flagOrEnv(flag: boolean, env: NodeJS.ProcessEnv, name: string): boolean {
  if (flag) return true;
  const raw = env[name];
  if (raw === undefined || raw === '') return false;
  const v = raw.trim().toLowerCase();
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw new OptionsError(`${name}: expected 1 or 0, got ${JSON.stringify(raw)}`);
}
