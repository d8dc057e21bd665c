/** What went wrong, as the server's `error` event reports it. */
export type InferenceErrorType =
  | 'invalid_config'
  | 'context_overflow'
  | 'token_timeout'
  | 'cancelled'
  | 'model_load'
  | 'generation_failed'
  | 'engine_closed'
  | 'overloaded';

/** A typed error of @bitnet/inference with hints on how to recover. */
export class InferenceError extends Error {
  constructor(
    readonly type: InferenceErrorType,
    message: string,
    readonly recoveryHints: string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InferenceError';
  }

  /** Whether retrying the same step may succeed. */
  get transient(): boolean {
    return this.type === 'generation_failed';
  }
}

/** An invalid GenerationConfig / StreamingConfig field; `field` names it. */
export class ConfigError extends InferenceError {
  constructor(
    readonly field: string,
    rule: string,
  ) {
    super('invalid_config', `${field}: ${rule}`, [`fix '${field}' (${rule})`]);
    this.name = 'ConfigError';
  }
}
