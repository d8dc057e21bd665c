import { checkKnownKeys } from '../errors/checkKeys';
import { ConfigError } from '../errors/InferenceError';
import { describeValue } from '@bitnet/models';

/** How generated tokens are grouped into responses and how steps are guarded. */
export interface StreamingConfig {
  /** Flush when this many tokens are pending. */
  bufferSize: number;
  /** Flush when the first pending token has waited this long (a timer, not only on the next token). */
  flushIntervalMs: number;
  /** Retries of a step that failed transiently. */
  maxRetries: number;
  /** Longest one step may take before a token_timeout error. */
  tokenTimeoutMs: number;
  /** Whether `cancel()` / AbortSignal may stop the stream. */
  cancellable: boolean;
}

/** The streaming settings used for every field a caller leaves out. */
export const DEFAULT_STREAMING_CONFIG: Readonly<StreamingConfig> = Object.freeze({
  bufferSize: 10,
  flushIntervalMs: 50,
  maxRetries: 3,
  tokenTimeoutMs: 5000,
  cancellable: true,
});

/** Named streaming settings that `streamingConfig` can start from. */
export const STREAMING_PRESETS = Object.freeze({
  lowLatency: Object.freeze({ bufferSize: 1, flushIntervalMs: 10 }),
  highThroughput: Object.freeze({ bufferSize: 32, flushIntervalMs: 200 }),
});

/** The name of one of `STREAMING_PRESETS`. */
export type StreamingPreset = keyof typeof STREAMING_PRESETS;

/** Every StreamingConfig key (an options object with any other key is rejected). */
export const STREAMING_CONFIG_KEYS: readonly (keyof StreamingConfig)[] = Object.freeze(['bufferSize', 'flushIntervalMs', 'maxRetries', 'tokenTimeoutMs', 'cancellable']);

/** A complete streaming config: the defaults, then the preset, then `overrides`; unknown keys and bad values are `ConfigError`s. */
export function streamingConfig(overrides: Partial<StreamingConfig> = {}, preset?: StreamingPreset): StreamingConfig {
  checkKnownKeys(overrides, STREAMING_CONFIG_KEYS, 'StreamingConfig', { maxNewTokens: 'GenerationConfig', signal: 'GenerateOptions' });
  const merged = { ...DEFAULT_STREAMING_CONFIG, ...(preset ? STREAMING_PRESETS[preset] : {}), ...overrides } as StreamingConfig;
  validateStreamingConfig(merged);
  return merged;
}

/** Throws a `ConfigError` when a field of a complete config is out of range. */
export function validateStreamingConfig(c: StreamingConfig): void {
  const int = (field: string, v: unknown, min: number, max: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new ConfigError(field, `must be an integer from ${min} to ${max}, got ${describeValue(v)}`);
    }
  };
  int('bufferSize', c.bufferSize, 1, 4096);
  int('flushIntervalMs', c.flushIntervalMs, 1, 60_000);
  int('maxRetries', c.maxRetries, 0, 10);
  int('tokenTimeoutMs', c.tokenTimeoutMs, 1, 600_000);
  if (typeof c.cancellable !== 'boolean') throw new ConfigError('cancellable', 'must be a boolean');
}
