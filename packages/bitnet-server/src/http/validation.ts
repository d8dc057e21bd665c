/**
 * Request bodies: zod schemas (the single description of every field, also the source of
 * /openapi.json) and the step that turns zod's first issue into the server's 422 contract:
 * `{ error: { type: 'invalid_request_error', param: <field>, message: '<field>: <rule>', rule, code: 'invalid_field' } }`.
 * Ranges that belong to the engine (top_p, min_p, repetition_penalty) stay the engine's: its
 * ConfigError is mapped to the same 422.
 */
import { z } from 'zod';
import { ConfigError, editDistance, randomSeed, type GenerationConfig, type StreamingConfig, generationConfig, streamingConfig } from '@bitnet/inference';
import { HttpError, invalidField } from './HttpError';
import { MAX_TOP_LOGPROBS } from './logprobs';
import { jsonSchemaValue, responseFormatSchema, streamGrammar } from './responseFormat';

/** Request field ↔ config field, for error messages that name what the client sent. */
const FIELD_NAMES: Record<string, string> = {
  maxNewTokens: 'max_tokens',
  temperature: 'temperature',
  topK: 'top_k',
  topP: 'top_p',
  minP: 'min_p',
  repetitionPenalty: 'repetition_penalty',
  presencePenalty: 'presence_penalty',
  frequencyPenalty: 'frequency_penalty',
  logitBias: 'logit_bias',
  stopSequences: 'stop',
  seed: 'seed',
  bufferSize: 'buffer_size',
  flushIntervalMs: 'flush_interval_ms',
};

type Issue = z.core.$ZodIssue;

const show = (v: unknown) => JSON.stringify(v);
const kind = (v: unknown) => (Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : typeof v);

/** A number field; null counts as absent. */
function num(o: { int?: boolean; min?: number; max?: number; rangeRule?: string; description?: string } = {}) {
  let s: z.ZodNumber = z.number({ error: (iss) => `must be a number, got ${show(iss.input)}` });
  if (o.int) s = s.int({ error: (iss) => `must be an integer, got ${iss.input}` });
  if (o.min !== undefined) s = s.min(o.min, { error: (iss) => o.rangeRule ?? `must be >= ${o.min}, got ${iss.input}` });
  if (o.max !== undefined) s = s.max(o.max, { error: (iss) => o.rangeRule ?? `must be <= ${o.max}, got ${iss.input}` });
  if (o.description) s = s.describe(o.description);
  return s.nullish();
}

const bool = (description: string) => z.boolean({ error: (iss) => `must be a boolean, got ${show(iss.input)}` }).describe(description).nullish();

const stop = z
  .union([z.string(), z.array(z.string())], { error: 'must be a string or an array of strings' })
  .describe('Stop strings: generation ends before the first one and leaves it out')
  .nullish();

const logitBias = z
  .record(z.string(), z.number({ error: (iss) => `values must be numbers from -100 to 100, got ${show(iss.input)}` }), { error: 'must be an object mapping token ids to biases' })
  .describe('Token id (as a string) → bias from -100 to 100 added to its logit before sampling; -100 bans the token, 100 forces it (at most 1024 entries)')
  .nullish();

/**
 * Sampling fields of every generation route. The descriptions give /v1/stream's defaults (the
 * library's SAMPLING_DEFAULTS); the OpenAI routes override the ones whose defaults differ.
 */
const sampling = {
  temperature: num({ min: 0, description: 'Sampling temperature; 0 is greedy (default 0.7)' }),
  top_k: num({ int: true, min: 0, description: 'Keep the k most likely tokens (0: all; default 40)' }),
  top_p: num({ description: 'Nucleus sampling: the smallest set of tokens whose probability reaches top_p, in (0, 1] (default 0.9)' }),
  min_p: num({ description: 'Drop tokens below min_p times the most likely one, in [0, 1) (default 0.05)' }),
  repetition_penalty: num({ description: 'Penalty on tokens among the last 64 of prompt and output, in (0, 10]; 1 is none (default 1)' }),
  presence_penalty: num({ description: 'Subtracted once from the logit of each token already generated (the prompt does not count), -2 to 2 (default 0)' }),
  frequency_penalty: num({ description: 'Subtracted from a token\'s logit once per time it was already generated (the prompt does not count), -2 to 2 (default 0)' }),
  logit_bias: logitBias,
  seed: num({ int: true, min: 0, max: 0xffffffff, description: 'Sampler seed (random when absent; the response reports the seed used)' }),
  stop,
};

const maxTokens = (description: string) => num({ int: true, min: 1, description });

/** `logprobs: true` + `top_logprobs: N` (/v1/stream and chat). */
const logprobFields = {
  logprobs: bool('Add each token\'s logprob (log-softmax at temperature 1, after the repetition penalty) to its event / chunk'),
  top_logprobs: num({ int: true, min: 0, max: MAX_TOP_LOGPROBS, description: `How many most likely tokens to add per token, 0 to ${MAX_TOP_LOGPROBS}; needs logprobs: true` }),
};

/**
 * The alternatives count asked by `logprobs` / `top_logprobs`: undefined when logprobs is off.
 * @throws 422 naming top_logprobs when it comes without logprobs: true.
 */
export function logprobsCount(b: { logprobs?: boolean | null; top_logprobs?: number | null }): number | undefined {
  const top = given(b.top_logprobs);
  if (b.logprobs !== true) {
    if (top !== undefined) throw invalidField('top_logprobs', 'requires logprobs: true');
    return undefined;
  }
  return top ?? 0;
}

/** POST /v1/stream */
export const streamRequestSchema = z
  .strictObject({
    prompt: z
      .string({ error: (iss) => (iss.input === undefined || iss.input === null ? 'is required' : `must be a string, got ${kind(iss.input)}`) })
      .min(1, { error: 'must not be empty' })
      .describe('The text to continue'),
    max_tokens: maxTokens('Most tokens to generate (default: --default-max-tokens)'),
    ...sampling,
    buffer_size: num({ int: true, min: 1, description: 'Tokens per SSE write (default 1)' }),
    flush_interval_ms: num({ int: true, min: 1, description: 'Longest a buffered token waits, in ms (default 50)' }),
    detailed_errors: bool('Add recovery_hints to error events'),
    ...logprobFields,
    json_schema: jsonSchemaValue(
      'Constrain the output to JSON valid for this JSON Schema (canonical form: no whitespace, like JSON.stringify); the stream completes with completion_reason "grammar_complete" when the value is complete. Not with grammar',
    ),
    grammar: z
      .string({ error: 'must be GBNF text (a string)' })
      .describe('Constrain the output to this GBNF grammar (llama.cpp syntax, rule root); completion_reason "grammar_complete" when nothing may follow. Not with json_schema')
      .nullish(),
  })
  .describe('A generation streamed as server-sent events: token, complete, error');

/** A field OpenAI defines that this server does not implement: any value but null is a 422 naming it. */
const unsupported = (why = 'is not supported') => z.null({ error: why }).optional().describe(`Not supported: ${why}`);

/** Fields OpenAI defines that the server accepts only with their neutral value. */
const openAiNeutral = {
  model: z.string({ error: 'must be a string' }).describe('Ignored: the server serves one model').optional(),
  n: num({ int: true, min: 1, max: 1, rangeRule: 'only 1 is supported' }),
  echo: z.literal(false, { error: 'is not supported' }).optional(),
  best_of: z.literal(1, { error: 'only 1 is supported' }).nullish(),
  tools: z.array(z.unknown(), { error: 'are not supported' }).max(0, { error: 'are not supported' }).nullish(),
  stream: bool('Answer as server-sent events (data: chunks, then data: [DONE])'),
  stream_options: z
    .looseObject({ include_usage: bool('Send a last chunk with the usage') }, { error: 'must be an object' })
    .nullish(),
  // opaque tags: accepted, never acted on
  user: z.string({ error: 'must be a string' }).describe('An opaque end-user tag: accepted, no effect on generation').nullish(),
  metadata: z.record(z.string(), z.string(), { error: 'must be an object of strings' }).describe('Opaque tags: accepted, no effect (nothing is stored)').nullish(),
  store: z.literal(false, { error: 'only false is supported: nothing is stored' }).nullish(),
  service_tier: z.enum(['auto', 'default'], { error: "only 'auto' or 'default' is supported" }).nullish(),
  // OpenAI features this server does not have: rejected by name
  tool_choice: z.literal('none', { error: "only 'none' is supported (no tools)" }).nullish(),
  parallel_tool_calls: unsupported('is not supported (no tools)'),
  functions: unsupported('is not supported (no tools)'),
  function_call: unsupported('is not supported (no tools)'),
  response_format: responseFormatSchema,
  audio: unsupported('is not supported (text only)'),
  prediction: unsupported(),
  reasoning_effort: unsupported('is not supported (not a reasoning model)'),
  web_search_options: unsupported(),
  verbosity: unsupported(),
  prompt_cache_key: unsupported(),
  safety_identifier: unsupported(),
};

/** The OpenAI routes' sampling fields: OpenAI's ranges, and its defaults (OPENAI_SAMPLING_DEFAULTS). */
const openAiSampling = {
  ...sampling,
  temperature: num({ min: 0, max: 2, description: 'Sampling temperature, 0 to 2 (default 1)' }),
  top_k: num({ int: true, min: 0, description: 'Extension: keep the k most likely tokens (default 0: all)' }),
  top_p: num({ description: 'Nucleus sampling, in (0, 1] (default 1)' }),
  min_p: num({ description: 'Extension: drop tokens below min_p times the most likely one, in [0, 1) (default 0)' }),
  repetition_penalty: num({ description: 'Extension: penalty on tokens among the last 64 of prompt and output, in (0, 10] (default 1: none)' }),
  presence_penalty: num({ min: -2, max: 2, description: 'Subtracted once from the logit of each token already generated (the prompt does not count), -2 to 2 (default 0)' }),
  frequency_penalty: num({ min: -2, max: 2, description: "Subtracted from a token's logit once per time it was already generated (the prompt does not count), -2 to 2 (default 0)" }),
};

/** POST /v1/completions */
export const completionRequestSchema = z
  .strictObject({
    prompt: z
      .union([z.string(), z.array(z.string()).length(1)], {
        error: (iss) =>
          iss.input === undefined || iss.input === null ? 'is required' : Array.isArray(iss.input) ? 'must be a string or an array of exactly one string' : 'must be a string',
      })
      .describe('The text to continue (a string, or an array holding one string)'),
    max_tokens: maxTokens('Most tokens to generate (default 16)'),
    ...openAiSampling,
    ...openAiNeutral,
    logprobs: num({ int: true, min: 0, max: MAX_TOP_LOGPROBS, description: `Add token logprobs and this many most likely tokens per token, 0 to ${MAX_TOP_LOGPROBS} (legacy shape)` }),
    suffix: unsupported(),
  })
  .describe('OpenAI-compatible text completion');

const PART_RULE = "only { type: 'text', text } parts are supported";
const textPart = z.looseObject({ type: z.literal('text', { error: PART_RULE }), text: z.string({ error: PART_RULE }) }, { error: PART_RULE });

const chatMessage = z.looseObject(
  {
    role: z.enum(['system', 'developer', 'user', 'assistant'], { error: "must be 'system', 'developer', 'user' or 'assistant'" }),
    content: z.union([z.string(), z.array(textPart)], { error: 'must be a string or an array of text parts' }),
  },
  { error: 'must be an object' },
);

/** POST /v1/chat/completions */
export const chatRequestSchema = z
  .strictObject({
    messages: z
      .array(chatMessage, { error: (iss) => (iss.input === undefined || iss.input === null ? 'is required' : 'must be a non-empty array') })
      .min(1, { error: 'must be a non-empty array' })
      .describe("The conversation, written with the model's chat template"),
    max_completion_tokens: maxTokens('Most tokens to generate (default: --default-max-tokens)'),
    max_tokens: maxTokens('Older name of max_completion_tokens'),
    ...openAiSampling,
    ...openAiNeutral,
    ...logprobFields,
    modalities: z.array(z.literal('text', { error: "only ['text'] is supported" }), { error: "only ['text'] is supported" }).nullish(),
  })
  .describe('OpenAI-compatible chat completion');

export type StreamBody = z.output<typeof streamRequestSchema>;
export type CompletionBody = z.output<typeof completionRequestSchema>;
export type ChatBody = z.output<typeof chatRequestSchema>;

/** The known name nearest to `name` (ties: the first in declaration order). */
export function closestField(name: string, known: readonly string[]): string {
  let best = known[0];
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

/** `messages[0].content[1]`: the path as a client would write it. */
function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

/**
 * The issue to report for a failed union. A union reports at its own field ('stop: must be a string
 * or an array of strings'), except a message content array with a bad part, which names the part
 * (`messages[0].content[1]`) as it always has.
 */
function unionIssue(issue: Issue & { code: 'invalid_union' }): Issue {
  for (const option of issue.errors) {
    const inner = option.find((i) => i.message === PART_RULE);
    if (inner) return { ...inner, path: [...issue.path, ...inner.path] } as Issue;
  }
  return issue;
}

/** zod's result as the 422 the server has always answered (unknown fields first: they explain the rest). */
function toHttpError(issues: readonly Issue[], known: readonly string[]): HttpError {
  const unknown = issues.find((i) => i.code === 'unrecognized_keys' && i.path.length === 0) as (Issue & { keys: string[] }) | undefined;
  if (unknown) {
    const field = unknown.keys[0];
    return invalidField(field, `is not a known field; did you mean '${closestField(field, known)}'?`);
  }
  let issue = issues[0];
  if (issue.code === 'invalid_union') issue = unionIssue(issue);
  const path = [...issue.path];
  // a text part's own fields report at the part
  if (issue.message === PART_RULE && (path[path.length - 1] === 'type' || path[path.length - 1] === 'text')) path.pop();
  return invalidField(fieldPath(path), issue.message);
}

/** A random sampler seed (used when a request gives none; the responses report it). */
export { randomSeed };

/** The JSON body must be an object (400 otherwise), then match `schema` (422 otherwise). */
export function parseBody<S extends z.ZodObject>(schema: S, raw: unknown): z.output<S> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new HttpError(400, 'invalid_request_error', 'the request body must be a JSON object', { code: 'invalid_body' });
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw toHttpError(r.error.issues, Object.keys(schema.shape));
  return r.data;
}

/** A string field over the character bound: 400 prompt_too_long (checked before tokenizing). */
export function checkChars(field: string, n: number, max: number): void {
  if (n > max) throw new HttpError(400, 'prompt_too_long', `${field} has ${n} characters; at most ${max} are accepted`, { param: field, prompt_characters: n, max_characters: max });
}

/** `stop` as a list. */
export function stopList(v: string | string[] | null | undefined): string[] | undefined {
  return v === undefined || v === null ? undefined : typeof v === 'string' ? [v] : v;
}

/** null and undefined alike: absent. */
export const given = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);


/** Validates with the engine's rules; a ConfigError becomes a 422 naming the request field. */
export function engineConfigs(gen: Partial<GenerationConfig>, stream: Partial<StreamingConfig>): { generation: GenerationConfig; streaming: StreamingConfig } {
  try {
    return { generation: generationConfig(gen), streaming: streamingConfig(stream) };
  } catch (e) {
    if (e instanceof ConfigError) {
      const field = FIELD_NAMES[e.field] ?? e.field;
      throw invalidField(field, e.message.slice(e.field.length + 2));
    }
    throw e;
  }
}

/** The /v1/stream request, validated. */
export interface StreamRequest {
  prompt: string;
  generation: GenerationConfig;
  streaming: StreamingConfig;
  detailedErrors: boolean;
  /** Alternatives per token with logprobs (logprobs: true, top_logprobs); undefined = off. */
  logprobs?: number;
  /** The GBNF grammar the output must follow (from json_schema or grammar); undefined = free text. */
  grammar?: string;
}

export function parseStreamRequest(raw: unknown, limits: { maxPromptChars: number; defaultMaxTokens: number; tokenTimeoutMs: number }): StreamRequest {
  const b = parseBody(streamRequestSchema, raw);
  checkChars('prompt', b.prompt.length, limits.maxPromptChars);
  const gen: Partial<GenerationConfig> = {
    maxNewTokens: given(b.max_tokens) ?? limits.defaultMaxTokens,
    seed: given(b.seed) ?? randomSeed(),
  };
  const optional: Array<[keyof GenerationConfig, number | null | undefined]> = [
    ['temperature', b.temperature],
    ['topK', b.top_k],
    ['topP', b.top_p],
    ['minP', b.min_p],
    ['repetitionPenalty', b.repetition_penalty],
    ['presencePenalty', b.presence_penalty],
    ['frequencyPenalty', b.frequency_penalty],
  ];
  for (const [key, v] of optional) if (v !== undefined && v !== null) (gen as Record<string, unknown>)[key] = v;
  const stopSequences = stopList(b.stop);
  if (stopSequences !== undefined) gen.stopSequences = stopSequences;
  if (b.logit_bias !== undefined && b.logit_bias !== null) gen.logitBias = b.logit_bias;
  const stream: Partial<StreamingConfig> = {
    bufferSize: given(b.buffer_size) ?? 1,
    flushIntervalMs: given(b.flush_interval_ms) ?? 50,
    tokenTimeoutMs: limits.tokenTimeoutMs,
  };
  const { generation, streaming } = engineConfigs(gen, stream);
  const logprobs = logprobsCount(b);
  const grammar = streamGrammar(b);
  return {
    prompt: b.prompt,
    generation,
    streaming,
    detailedErrors: b.detailed_errors ?? false,
    ...(logprobs !== undefined ? { logprobs } : {}),
    ...(grammar !== undefined ? { grammar } : {}),
  };
}
