/**
 * The wire shapes of bitnet-server's API, as sent (snake_case): the POST /v1/stream request, its
 * three server-sent events, and the small JSON answers of GET /health and GET /v1/models.
 */

/**
 * The body of `POST /v1/stream` (the server's `streamRequestSchema`). Unknown fields are a 422; a
 * `null` counts as absent.
 */
export interface StreamRequest {
  /** The text to continue (required, not empty). */
  prompt: string;
  /** Most tokens to generate, >= 1 (default: the server's `--default-max-tokens`). */
  max_tokens?: number | null;
  /** Sampling temperature, >= 0; 0 is greedy (default 0.7: the README's "Sampling defaults"). */
  temperature?: number | null;
  /** Keep the k most likely tokens, integer >= 0 (0: all; default 40). */
  top_k?: number | null;
  /** Nucleus sampling, in (0, 1] (default 0.9). */
  top_p?: number | null;
  /** Drop tokens below min_p times the most likely one, in [0, 1) (default 0.05). */
  min_p?: number | null;
  /** Penalty on tokens among the last 64 of prompt and output, in (0, 10]; 1 is none (default 1). */
  repetition_penalty?: number | null;
  /** Subtracted once from the logit of each token already generated (not the prompt's), -2..2 (default 0). */
  presence_penalty?: number | null;
  /** Subtracted from a token's logit once per time it was already generated, -2..2 (default 0). */
  frequency_penalty?: number | null;
  /** Token id (as a string) → bias in [-100, 100] added to its logit; -100 bans, 100 forces (default none). */
  logit_bias?: Record<string, number> | null;
  /** Stop strings: generation ends before the first one and leaves it out. */
  stop?: string | string[] | null;
  /** Sampler seed, an integer in [0, 2^32 - 1] (random when absent; the `complete` event reports it). */
  seed?: number | null;
  /** Add `recovery_hints` to `error` events. */
  detailed_errors?: boolean | null;
  /** Tokens per SSE write, >= 1 (default 1). */
  buffer_size?: number | null;
  /** Longest a buffered token waits, in ms, >= 1 (default 50). */
  flush_interval_ms?: number | null;
  /** Add `logprob`, `bytes` and `top_logprobs` to every `token` event. */
  logprobs?: boolean | null;
  /** How many most likely tokens `top_logprobs` lists, 0 to 20 (default 0); only with `logprobs: true`. */
  top_logprobs?: number | null;
  /**
   * Constrain the output to JSON valid for this JSON Schema (an object or a boolean; the subset the
   * server's README lists). The text is the value's canonical form, without whitespace between tokens
   * (like `JSON.stringify`); the stream completes with `completion_reason: 'grammar_complete'` once the
   * value is complete. A schema the server cannot use is a 422 whose error names `json_schema` and
   * carries `schema_path` and `keyword`. Not together with `grammar`.
   */
  json_schema?: Record<string, unknown> | boolean | null;
  /**
   * Constrain the output to a GBNF grammar (llama.cpp's syntax; rule `root` is the whole output); the
   * stream completes with `completion_reason: 'grammar_complete'` when nothing may follow. A grammar
   * that does not parse is a 422 naming `grammar` (with `line` / `column`). Not together with `json_schema`.
   */
  grammar?: string | null;
}

/** One of the most likely tokens at a step (`TokenEvent.top_logprobs`). */
export interface TopLogprob {
  id: number;
  /** The token's text decoded alone (U+FFFD where its bytes are only part of a character). */
  token: string;
  /** Natural log of its probability. */
  logprob: number;
  /** The token's raw bytes (UTF-8, possibly part of a character). */
  bytes: number[];
}

/** The data of a `token` event: one generated token with its own share of the text. */
export interface TokenEvent {
  /** The token's text (texts of all token events concatenate to the generated text). */
  token: string;
  /** The token's id in the model's vocabulary. */
  token_id: number;
  /** Milliseconds since the request started. */
  cumulative_time_ms: number;
  /** The token's place in the sequence; prompt tokens count from 0. */
  position: number;
  /**
   * With `logprobs: true`: natural log of the token's probability — the log-softmax at temperature 1
   * of the logits it was chosen from, after the repetition penalty, before temperature / top-k /
   * top-p / min-p. A probability of 0 is written as -9999.
   */
  logprob?: number;
  /** With `logprobs: true`: the token's raw bytes. */
  bytes?: number[];
  /** With `logprobs: true`: the `top_logprobs` most likely tokens at this step, most likely first. */
  top_logprobs?: TopLogprob[];
}

/** Why a stream ended, as the `complete` event's `completion_reason` says. */
export type CompletionReason = 'eos' | 'end_of_turn' | 'stop_token' | 'stop_sequence' | 'max_tokens' | 'grammar_complete' | 'client_disconnected' | 'server_shutdown';

/** The data of the `complete` event: the last event of a stream that ended without an error. */
export interface CompleteEvent {
  /** Tokens generated. */
  total_tokens: number;
  /** Milliseconds from the request to the end. */
  total_time_ms: number;
  /** Generation speed. */
  tokens_per_second: number;
  /** False when the stream was cut short (client disconnected, server shutdown). */
  completed_normally: boolean;
  /** Why the generation ended. */
  completion_reason: CompletionReason | (string & {});
  /** Tokens in the prompt. */
  prompt_tokens: number;
  /**
   * Prompt tokens the server's prompt cache restored instead of computing them (`--prompt-cache-mb`):
   * an earlier request started with the same tokens. 0 when none were cached or the cache is off.
   */
  cached_prompt_tokens: number;
  /** Milliseconds to the first token; null when none was generated. */
  time_to_first_token_ms: number | null;
  /** The OpenAI-style finish reason (`stop`, `length`, …). */
  finish_reason: string;
  /** The sampler seed used (the one sent, or the random one the server drew). */
  seed: number;
}

/** The data of the `error` event: the generation failed after the stream had started. */
export interface ErrorEvent {
  /** A machine-readable error type. */
  error_type: string;
  /** What went wrong. */
  message: string;
  /** Tokens generated (and sent) before the error. */
  tokens_before_error: number;
  /** Present when the request set `detailed_errors: true`. */
  recovery_hints?: string[];
}

/** `GET /health`: the server and the model it serves (fields this client does not know are kept). */
export interface HealthResponse {
  /**
   * `ok`; `degraded` when the server's shared stream store (Redis) is unreachable and its streams are kept
   * in that replica only (`degraded_reason` says why); or `shutting_down` (then with status 503).
   */
  status: string;
  /** Why the server is degraded (only with status `degraded`). */
  degraded_reason?: string;
  /** The model served. */
  model: {
    id: string;
    name: string;
    architecture: string;
    quantization: string;
    parameters: number;
    context_length: number;
    vocab_size: number;
    file: string;
    [key: string]: unknown;
  };
  /** Seconds since the server started. */
  uptime_seconds: number;
  /** The server's version. */
  version: string;
  /** The kernels in use (`native` or `ts`). */
  kernels: string;
  /** Streams running and waiting. */
  streams: { active: number; queued: number; max_concurrent: number; max_queue: number; [key: string]: unknown };
  /**
   * The prompt cache (`--prompt-cache-mb`), as of the last finished generation: `source` says whether
   * its size was given or the default sized at start; `limit_bytes` is whole blocks of `block_tokens` positions.
   */
  prompt_cache?: {
    enabled: boolean;
    /** 'option' (--prompt-cache-mb / BITNET_PROMPT_CACHE_MB) or 'default' (sized at start). */
    source: 'option' | 'default';
    /** The megabytes the engine was given. */
    size_mb: number;
    /**
     * Bytes of KV memory: whole blocks within size_mb, never less than one whole context. Running
     * requests' keys and values come from the same blocks; a request that cannot get its blocks waits.
     */
    limit_bytes: number;
    /** Bytes of block storage touched so far. */
    bytes: number;
    /** Positions per block. */
    block_tokens: number;
    /** Blocks holding a cached prefix that no running request holds (evictable). */
    cached_blocks: number;
    /** Blocks held by running requests (their own positions and the cached prefixes they read). */
    used_blocks: number;
    /** Prompt tokens restored from the cache since start. */
    reused_tokens: number;
    evicted_blocks: number;
  };
  [key: string]: unknown;
}

/** One entry of `GET /v1/models`. */
export interface ModelEntry {
  /** The model's id. */
  id: string;
  /** Always `model`. */
  object: 'model';
  /** Seconds since the epoch at which the server started. */
  created: number;
  /** Always `bitnet-ts`. */
  owned_by: string;
}

/** `GET /v1/models` (OpenAI's shape): the one model served. */
export interface ModelList {
  /** Always `list`. */
  object: 'list';
  /** The models (one). */
  data: ModelEntry[];
}
