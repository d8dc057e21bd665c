import { InferenceError } from '../errors/InferenceError';

/** Why a schema was refused. */
export type JsonSchemaErrorReason = 'unsupported' | 'invalid' | 'unsatisfiable' | 'limit';

/** A schema the converter refuses: `path` is the JSON pointer of the offending subschema, `keyword` the keyword. */
export class JsonSchemaError extends InferenceError {
  constructor(
    readonly path: string,
    readonly keyword: string,
    readonly reason: JsonSchemaErrorReason,
    detail: string,
  ) {
    super('invalid_config', `JSON schema ${path === '' ? '(root)' : path}: ${keyword}: ${detail}`, [
      reason === 'unsupported' ? `remove '${keyword}' (not supported by the grammar converter)` : `fix '${keyword}'`,
    ]);
    this.name = 'JsonSchemaError';
  }
}

/** Largest `minItems`/`maxItems`/`minLength`/`maxLength` accepted (bounded repetition stays small). */
export const MAX_SCHEMA_REPETITION = 1000;
/** Deepest nesting of subschemas (through properties, items, anyOf and $ref) the converter follows. */
export const MAX_SCHEMA_DEPTH = 256;
/** Largest number of grammar rules one schema may produce. */
export const MAX_SCHEMA_RULES = 5000;
