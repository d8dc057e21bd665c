import { ConfigError, type GenerationConfig, type StreamingConfig, generationConfig, streamingConfig } from '@bitnet/inference';
import { HttpError, invalidField } from './HttpError';

/** Request field ↔ config field, for error messages that name what the client sent. */
const FIELD_NAMES: Record<string, string> = {
  maxNewTokens: 'max_tokens',
  temperature: 'temperature',
  topK: 'top_k',
  topP: 'top_p',
  minP: 'min_p',
  repetitionPenalty: 'repetition_penalty',
  stopSequences: 'stop',
  seed: 'seed',
  bufferSize: 'buffer_size',
  flushIntervalMs: 'flush_interval_ms',
};

export type Body = Record<string, unknown>;

/** The JSON body must be an object. */
export function requireObject(body: unknown): Body {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'invalid_request_error', 'the request body must be a JSON object', { code: 'invalid_body' });
  }
  return body as Body;
}

export function optNumber(body: Body, field: string, rule?: { int?: boolean; min?: number; max?: number }): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidField(field, `must be a number, got ${JSON.stringify(v)}`);
  if (rule?.int && !Number.isInteger(v)) throw invalidField(field, `must be an integer, got ${v}`);
  if (rule?.min !== undefined && v < rule.min) throw invalidField(field, `must be >= ${rule.min}, got ${v}`);
  if (rule?.max !== undefined && v > rule.max) throw invalidField(field, `must be <= ${rule.max}, got ${v}`);
  return v;
}

export function optBoolean(body: Body, field: string): boolean | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalidField(field, `must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

export function requireString(body: Body, field: string, maxChars: number): string {
  const v = body[field];
  if (v === undefined || v === null) throw invalidField(field, 'is required');
  if (typeof v !== 'string') throw invalidField(field, `must be a string, got ${typeof v === 'object' ? (Array.isArray(v) ? 'an array' : 'an object') : typeof v}`);
  if (v.length === 0) throw invalidField(field, 'must not be empty');
  if (v.length > maxChars) {
    throw new HttpError(400, 'prompt_too_long', `${field} has ${v.length} characters; at most ${maxChars} are accepted`, {
      param: field,
      prompt_characters: v.length,
      max_characters: maxChars,
    });
  }
  return v;
}

/** `stop`: a string or an array of strings (OpenAI's form). */
export function optStop(body: Body, field = 'stop'): string[] | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v as string[];
  throw invalidField(field, 'must be a string or an array of strings');
}

/** A random sampler seed (used when the request gives none; the complete event reports it). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x1_0000_0000) >>> 0;
}

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
}

export function parseStreamRequest(raw: unknown, limits: { maxPromptChars: number; defaultMaxTokens: number; tokenTimeoutMs: number }): StreamRequest {
  const body = requireObject(raw);
  const prompt = requireString(body, 'prompt', limits.maxPromptChars);
  const gen: Partial<GenerationConfig> = {
    maxNewTokens: optNumber(body, 'max_tokens', { int: true, min: 1 }) ?? limits.defaultMaxTokens,
    seed: optNumber(body, 'seed', { int: true, min: 0, max: 0xffffffff }) ?? randomSeed(),
  };
  const t = optNumber(body, 'temperature', { min: 0 });
  if (t !== undefined) gen.temperature = t;
  const k = optNumber(body, 'top_k', { int: true, min: 0 });
  if (k !== undefined) gen.topK = k;
  const p = optNumber(body, 'top_p');
  if (p !== undefined) gen.topP = p;
  const mp = optNumber(body, 'min_p');
  if (mp !== undefined) gen.minP = mp;
  const rp = optNumber(body, 'repetition_penalty');
  if (rp !== undefined) gen.repetitionPenalty = rp;
  const stop = optStop(body);
  if (stop !== undefined) gen.stopSequences = stop;
  const stream: Partial<StreamingConfig> = { bufferSize: 1, flushIntervalMs: 50, tokenTimeoutMs: limits.tokenTimeoutMs };
  const bs = optNumber(body, 'buffer_size', { int: true, min: 1 });
  if (bs !== undefined) stream.bufferSize = bs;
  const fi = optNumber(body, 'flush_interval_ms', { int: true, min: 1 });
  if (fi !== undefined) stream.flushIntervalMs = fi;
  const detailedErrors = optBoolean(body, 'detailed_errors') ?? false;
  const { generation, streaming } = engineConfigs(gen, stream);
  return { prompt, generation, streaming, detailedErrors };
}
