import { checkKnownKeys } from '../errors/checkKeys';
import { ConfigError } from '../errors/InferenceError';

/** How tokens are chosen and when generation stops. */
export interface GenerationConfig {
  maxNewTokens: number;
  /** 0 = greedy. */
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. */
  topP: number;
  /** 0 = off. */
  minP: number;
  /** 1 = off; > 1 discourages tokens already in the prompt or output. */
  repetitionPenalty: number;
  /** Text that ends generation; never emitted. */
  stopSequences: string[];
  /** Token ids that end generation (besides EOS and end-of-turn tokens). */
  stopTokenIds: number[];
  /** Seed of the sampler; same seed, same prompt, same config → same ids. */
  seed: number;
  /** Leave special tokens' text out of the streamed text (their ids are still reported). */
  skipSpecialTokens: boolean;
  /** Add BOS; undefined = as the GGUF's add_bos_token says. */
  addBos?: boolean;
}

/** The generation settings used for every field a caller leaves out. */
export const DEFAULT_GENERATION_CONFIG: Readonly<GenerationConfig> = Object.freeze({
  maxNewTokens: 128,
  temperature: 0.7,
  topK: 40,
  topP: 0.9,
  minP: 0.05,
  repetitionPenalty: 1.1,
  stopSequences: [],
  stopTokenIds: [],
  seed: 42,
  skipSpecialTokens: true,
});

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
  'stopSequences',
  'stopTokenIds',
  'seed',
  'skipSpecialTokens',
  'addBos',
]);

/** A full config from defaults, an optional preset, and overrides; validated. */
export function generationConfig(overrides: Partial<GenerationConfig> = {}, preset?: GenerationPreset): GenerationConfig {
  checkKnownKeys(overrides, GENERATION_CONFIG_KEYS, 'GenerationConfig', { bufferSize: 'StreamingConfig', flushIntervalMs: 'StreamingConfig', maxRetries: 'StreamingConfig', tokenTimeoutMs: 'StreamingConfig', cancellable: 'StreamingConfig', signal: 'GenerateOptions' });
  const merged = { ...DEFAULT_GENERATION_CONFIG, ...(preset ? GENERATION_PRESETS[preset] : {}), ...overrides } as GenerationConfig;
  validateGenerationConfig(merged);
  return merged;
}

function num(field: string, v: unknown, rule: (x: number) => boolean, text: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || !rule(v)) throw new ConfigError(field, `must be ${text}, got ${JSON.stringify(v)}`);
}

/** Throws a `ConfigError` when a field of a complete config is out of range. */
export function validateGenerationConfig(c: GenerationConfig): void {
  num('maxNewTokens', c.maxNewTokens, (x) => Number.isInteger(x) && x >= 1 && x <= 1_000_000, 'an integer from 1 to 1000000');
  num('temperature', c.temperature, (x) => x >= 0 && x <= 100, 'between 0 and 100');
  num('topK', c.topK, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer');
  num('topP', c.topP, (x) => x > 0 && x <= 1, 'in (0, 1]');
  num('minP', c.minP, (x) => x >= 0 && x < 1, 'in [0, 1)');
  num('repetitionPenalty', c.repetitionPenalty, (x) => x > 0 && x <= 10, 'in (0, 10]');
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
