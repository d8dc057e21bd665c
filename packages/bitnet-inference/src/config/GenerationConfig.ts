import { checkKnownKeys } from '../errors/checkKeys';
import { ConfigError } from '../errors/InferenceError';
import { describeValue } from '@bitnet/models';

/**
 * How tokens are chosen and when generation stops. Every sampling option's default is the one in
 * `SAMPLING_DEFAULTS` (the "Sampling defaults" table of the README), shared by the library, the CLIs
 * and the server's `/v1/stream`; the server's OpenAI routes use `OPENAI_SAMPLING_DEFAULTS` instead.
 */
export interface GenerationConfig {
  /** Most tokens to generate (default 128). */
  maxNewTokens: number;
  /** Softmax temperature, 0..100; 0 = greedy (the argmax after penalties and bias). Default 0.7. */
  temperature: number;
  /** Keep only the k most likely tokens; 0 = off. Default 40. */
  topK: number;
  /** Nucleus sampling: keep the smallest set whose probability reaches topP, in (0, 1]; 1 = off. Default 0.9. */
  topP: number;
  /** Drop tokens less likely than minP times the most likely one, in [0, 1); 0 = off. Default 0.05. */
  minP: number;
  /**
   * Divides positive logits (multiplies negative ones) of tokens among the last 64 of the prompt and
   * output, in (0, 10]; 1 = off. Default 1 (off): temperature 0 is then plain greedy decoding.
   */
  repetitionPenalty: number;
  /**
   * OpenAI's presence penalty, -2..2: subtracted once from the logit of every token this generation
   * has already produced (the prompt does not count). Default 0 (off).
   */
  presencePenalty: number;
  /**
   * OpenAI's frequency penalty, -2..2: subtracted from a token's logit once per time this generation
   * has already produced it (the prompt does not count). Default 0 (off).
   */
  frequencyPenalty: number;
  /**
   * Added to the logits of these token ids (keys: decimal token ids) before sampling, each in
   * [-100, 100]; -100 bans the token, +100 forces it (every token without +100 is banned). At most
   * 1024 entries. Default {} (none).
   */
  logitBias: Readonly<Record<string, number>>;
  /** Text that ends generation; never emitted. */
  stopSequences: string[];
  /** Token ids that end generation (besides EOS and end-of-turn tokens). */
  stopTokenIds: number[];
  /**
   * Seed of the sampler, 0..2^32-1; same seed, same prompt, same config → same ids. Default: a fresh
   * random seed for each config `generationConfig` completes (read it back from the stream's or
   * result's `seed` to reproduce a run).
   */
  seed: number;
  /** Leave special tokens' text out of the streamed text (their ids are still reported). */
  skipSpecialTokens: boolean;
  /** Add BOS; undefined = as the GGUF's add_bos_token says. */
  addBos?: boolean;
}

/** The options `SAMPLING_DEFAULTS` and `OPENAI_SAMPLING_DEFAULTS` give a value for. */
export type SamplingOptionName = 'temperature' | 'topK' | 'topP' | 'minP' | 'repetitionPenalty' | 'presencePenalty' | 'frequencyPenalty' | 'logitBias' | 'seed';

/** A default for each sampling option; `seed: 'random'` draws a fresh seed per generation. */
export type SamplingDefaults = Readonly<Omit<Pick<GenerationConfig, SamplingOptionName>, 'seed'> & { seed: 'random' }>;

/**
 * THE sampling defaults of the library, the CLIs (bitnet-generate, bitnet-chat) and `/v1/stream`
 * (the README's "Sampling defaults" table; a spec checks that both agree). Temperature 0.7 with
 * top-k 40, top-p 0.9 and min-p 0.05 keeps the small model on topic while still varying; every
 * penalty and bias is off, so temperature 0 is plain greedy decoding (the same ids as the OpenAI
 * routes at temperature 0); the seed is random unless given.
 */
export const SAMPLING_DEFAULTS: SamplingDefaults = Object.freeze({
  temperature: 0.7,
  topK: 40,
  topP: 0.9,
  minP: 0.05,
  repetitionPenalty: 1,
  presencePenalty: 0,
  frequencyPenalty: 0,
  logitBias: Object.freeze({}),
  seed: 'random',
});

/**
 * The defaults of the server's OpenAI routes (/v1/completions, /v1/chat/completions): OpenAI's
 * documented ones (temperature 1, top_p 1, penalties 0, no bias), with the extensions OpenAI lacks
 * (top_k, min_p, repetition_penalty) off.
 */
export const OPENAI_SAMPLING_DEFAULTS: SamplingDefaults = Object.freeze({
  temperature: 1,
  topK: 0,
  topP: 1,
  minP: 0,
  repetitionPenalty: 1,
  presencePenalty: 0,
  frequencyPenalty: 0,
  logitBias: Object.freeze({}),
  seed: 'random',
});

/** The settings used for every field a caller leaves out (the seed aside: see `GenerationConfig.seed`). */
export const DEFAULT_GENERATION_CONFIG: Readonly<Omit<GenerationConfig, 'seed'>> = Object.freeze({
  maxNewTokens: 128,
  ...withoutSeed(SAMPLING_DEFAULTS),
  stopSequences: [],
  stopTokenIds: [],
  skipSpecialTokens: true,
});

function withoutSeed(d: SamplingDefaults): Omit<SamplingDefaults, 'seed'> {
  const { seed: _seed, ...rest } = d;
  return rest;
}

/** Named sampling settings (greedy, balanced, creative) that `generationConfig` can start from. */
export const GENERATION_PRESETS = Object.freeze({
  greedy: Object.freeze({ temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1 }),
  balanced: Object.freeze({ temperature: 0.7, topK: 40, topP: 0.9, minP: 0.05, repetitionPenalty: 1.1 }),
  creative: Object.freeze({ temperature: 1.0, topK: 100, topP: 0.95, minP: 0.02, repetitionPenalty: 1.05 }),
});

/** The name of one of `GENERATION_PRESETS`. */
export type GenerationPreset = keyof typeof GENERATION_PRESETS;

/** Every GenerationConfig key (an options object with any other key is rejected). */
export const GENERATION_CONFIG_KEYS: readonly (keyof GenerationConfig)[] = Object.freeze([
  'maxNewTokens',
  'temperature',
  'topK',
  'topP',
  'minP',
  'repetitionPenalty',
  'presencePenalty',
  'frequencyPenalty',
  'logitBias',
  'stopSequences',
  'stopTokenIds',
  'seed',
  'skipSpecialTokens',
  'addBos',
]);

/** A random sampler seed, 0..2^32-1. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x1_0000_0000) >>> 0;
}

/**
 * A full config from the defaults, an optional preset, and overrides; validated. Without a seed in
 * the overrides a fresh random one is drawn.
 */
export function generationConfig(overrides: Partial<GenerationConfig> = {}, preset?: GenerationPreset): GenerationConfig {
  checkKnownKeys(overrides, GENERATION_CONFIG_KEYS, 'GenerationConfig', { bufferSize: 'StreamingConfig', flushIntervalMs: 'StreamingConfig', maxRetries: 'StreamingConfig', tokenTimeoutMs: 'StreamingConfig', cancellable: 'StreamingConfig', signal: 'GenerateOptions' });
  const given = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const merged = { ...DEFAULT_GENERATION_CONFIG, seed: randomSeed(), ...(preset ? GENERATION_PRESETS[preset] : {}), ...given } as GenerationConfig;
  validateGenerationConfig(merged);
  return merged;
}

function num(field: string, v: unknown, rule: (x: number) => boolean, text: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || !rule(v)) throw new ConfigError(field, `must be ${text}, got ${describeValue(v)}`);
}

/** Most entries a logitBias may hold. */
export const MAX_LOGIT_BIAS_ENTRIES = 1024;

/** Throws ConfigError('logitBias') unless `bias` maps decimal token ids to numbers in [-100, 100]. */
function validateLogitBias(bias: unknown): void {
  if (bias === null || typeof bias !== 'object' || Array.isArray(bias)) throw new ConfigError('logitBias', 'must be an object mapping token ids to biases');
  const entries = Object.entries(bias);
  if (entries.length > MAX_LOGIT_BIAS_ENTRIES) throw new ConfigError('logitBias', `must hold at most ${MAX_LOGIT_BIAS_ENTRIES} entries, got ${entries.length}`);
  for (const [key, v] of entries) {
    if (!/^(0|[1-9][0-9]{0,9})$/.test(key)) throw new ConfigError('logitBias', `keys must be token ids (non-negative integers), got ${describeValue(key)}`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < -100 || v > 100) throw new ConfigError('logitBias', `the bias of token ${key} must be a number from -100 to 100, got ${describeValue(v)}`);
  }
}

/** Throws a `ConfigError` when a field of a complete config is out of range. */
export function validateGenerationConfig(c: GenerationConfig): void {
  num('maxNewTokens', c.maxNewTokens, (x) => Number.isInteger(x) && x >= 1 && x <= 1_000_000, 'an integer from 1 to 1000000');
  num('temperature', c.temperature, (x) => x >= 0 && x <= 100, 'between 0 and 100');
  num('topK', c.topK, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer');
  num('topP', c.topP, (x) => x > 0 && x <= 1, 'in (0, 1]');
  num('minP', c.minP, (x) => x >= 0 && x < 1, 'in [0, 1)');
  num('repetitionPenalty', c.repetitionPenalty, (x) => x > 0 && x <= 10, 'in (0, 10]');
  num('presencePenalty', c.presencePenalty, (x) => x >= -2 && x <= 2, 'between -2 and 2');
  num('frequencyPenalty', c.frequencyPenalty, (x) => x >= -2 && x <= 2, 'between -2 and 2');
  validateLogitBias(c.logitBias);
  num('seed', c.seed, (x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff, 'an integer from 0 to 2^32-1');
  if (!Array.isArray(c.stopSequences) || c.stopSequences.some((s) => typeof s !== 'string' || s.length === 0 || s.length > 1000)) {
    throw new ConfigError('stopSequences', 'must be an array of non-empty strings of at most 1000 characters');
  }
  if (c.stopSequences.length > 16) throw new ConfigError('stopSequences', 'must hold at most 16 strings');
  if (!Array.isArray(c.stopTokenIds) || c.stopTokenIds.some((x) => !Number.isInteger(x) || x < 0)) {
    throw new ConfigError('stopTokenIds', 'must be an array of non-negative integers');
  }
  if (typeof c.skipSpecialTokens !== 'boolean') throw new ConfigError('skipSpecialTokens', 'must be a boolean');
  if (c.addBos !== undefined && typeof c.addBos !== 'boolean') throw new ConfigError('addBos', 'must be a boolean when given');
}
