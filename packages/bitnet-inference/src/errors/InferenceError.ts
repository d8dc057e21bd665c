/**
 * The one error hierarchy of @bitnet/inference. Everything the engine throws or rejects with is an
 * InferenceError with a `type`; two subclasses carry extra fields:
 *  - ConfigError (type 'invalid_config'): `field` names the option, `suggestion` the valid option
 *    closest to an unknown one;
 *  - ContextOverflowError (type 'context_overflow'): `promptTokens`, `maxTokens`, `contextLength`.
 */

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

/** An invalid option; `field` names it, `suggestion` is the closest valid name when `field` is unknown. */
export class ConfigError extends InferenceError {
  constructor(
    readonly field: string,
    rule: string,
    readonly suggestion?: string,
  ) {
    super('invalid_config', `${field}: ${rule}`, [suggestion ? `use '${suggestion}'` : `fix '${field}' (${rule})`]);
    this.name = 'ConfigError';
  }
}

/** The prompt plus the tokens asked for do not fit the model's context. */
export class ContextOverflowError extends InferenceError {
  constructor(
    readonly promptTokens: number,
    readonly maxTokens: number,
    readonly contextLength: number,
  ) {
    super(
      'context_overflow',
      `prompt (${promptTokens} tokens) + maxNewTokens (${maxTokens}) = ${promptTokens + maxTokens} exceeds the context length ${contextLength}`,
      promptTokens >= contextLength ? ['shorten the prompt'] : ['shorten the prompt', `lower maxNewTokens to at most ${contextLength - promptTokens}`],
    );
    this.name = 'ContextOverflowError';
  }
}

/** An InferenceError for anything thrown (other errors become 'generation_failed', kept as `cause`). */
export function toInferenceError(error: unknown): InferenceError {
  if (error instanceof InferenceError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new InferenceError('generation_failed', `generation failed: ${message}`, ['retry the request', 'check the model file and the engine logs'], {
    cause: error,
  });
}
