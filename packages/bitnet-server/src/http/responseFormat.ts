/**
 * Constrained output on every generation route: `json_schema` / `grammar` of /v1/stream and OpenAI's
 * `response_format` (`text`, `json_object`, `json_schema`). Each becomes one GBNF text, checked here
 * (a bad schema or grammar is a 422 naming its field, before admission) and handed to the engine as
 * GenerateOptions.grammar, which is also what a /v1/stream stream stores to be revived.
 * JSON output uses the converter's default whitespace, 'none': the canonical `JSON.stringify` form.
 */
import { z } from 'zod';
import { GrammarError, JsonSchemaError, jsonSchemaToGbnf, parseGbnf } from '@bitnet/inference';
import { HttpError, invalidField } from './HttpError';

/** A JSON Schema given in a request: an object or a boolean. */
export const jsonSchemaValue = (description: string) =>
  z
    .union([z.record(z.string(), z.unknown()), z.boolean()], { error: 'must be a JSON Schema (an object or a boolean)' })
    .describe(description)
    .nullish();

const FORMAT_RULE = "must be { type: 'text' }, { type: 'json_object' } or { type: 'json_schema', json_schema: { name, schema, strict? } }";

/** OpenAI's `response_format` of chat and completions. */
export const responseFormatSchema = z
  .discriminatedUnion(
    'type',
    [
      z.looseObject({ type: z.literal('text') }).describe('Free text (the default)'),
      z.looseObject({ type: z.literal('json_object') }).describe('Any JSON object (canonical form, no whitespace)'),
      z
        .looseObject({
          type: z.literal('json_schema'),
          json_schema: z.looseObject(
            {
              name: z.string({ error: 'must be a string' }).describe('The schema\'s name (OpenAI requires one; not used here)'),
              description: z.string({ error: 'must be a string' }).nullish(),
              schema: jsonSchemaValue('The JSON Schema the output must satisfy (the subset the README lists)'),
              strict: z.boolean({ error: 'must be a boolean' }).nullish().describe('Accepted; the output always follows the schema'),
            },
            { error: 'must be an object { name, schema, strict? }' },
          ),
        })
        .describe('JSON valid for json_schema.schema (canonical form, no whitespace)'),
    ],
    { error: FORMAT_RULE },
  )
  .describe('Output format: text, any JSON object, or JSON for a schema (finish_reason is "stop" when the value completes)')
  .nullish();

export type ResponseFormat = z.output<typeof responseFormatSchema>;

/**
 * The GBNF text of a JSON Schema, checked.
 * @throws 422 naming `param`, with the converter's message, `schema_path` (JSON pointer), `keyword` and `reason`.
 */
export function schemaGrammar(param: string, schema: unknown): string {
  try {
    const text = jsonSchemaToGbnf(schema);
    parseGbnf(text);
    return text;
  } catch (e) {
    if (e instanceof JsonSchemaError) {
      return rethrow(param, e.message, { schema_path: e.path, keyword: e.keyword, reason: e.reason });
    }
    if (e instanceof GrammarError) return rethrow(param, e.message, {});
    throw e;
  }
}

/**
 * A GBNF grammar text, checked (parsed, and refused when it accepts no text).
 * @throws 422 naming `param`, with the parser's message and `line` / `column` when it points into the text.
 */
export function checkedGrammar(param: string, text: string): string {
  try {
    parseGbnf(text);
    return text;
  } catch (e) {
    if (e instanceof GrammarError) return rethrow(param, e.message, e.position ? { line: e.position.line, column: e.position.column } : {});
    throw e;
  }
}

function rethrow(param: string, message: string, details: Record<string, unknown>): never {
  const base = invalidField(param, message);
  throw new HttpError(base.status, base.type, base.message, { ...base.details, ...details });
}

/** The grammar of any JSON object: response_format json_object. */
let anyObject: string | undefined;
function anyObjectGrammar(): string {
  return (anyObject ??= jsonSchemaToGbnf({ type: 'object' }, { allowAdditionalProperties: true }));
}

/** The grammar of OpenAI's response_format (undefined: free text). */
export function responseFormatGrammar(format: ResponseFormat): string | undefined {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return anyObjectGrammar();
  const schema = format.json_schema.schema;
  if (schema === undefined || schema === null) throw invalidField('response_format.json_schema.schema', 'is required');
  return schemaGrammar('response_format.json_schema.schema', schema);
}

/**
 * The grammar of /v1/stream's `json_schema` / `grammar` (at most one of them).
 * @throws 422 naming grammar when both are given, or the field whose schema / grammar is bad.
 */
export function streamGrammar(b: { json_schema?: unknown; grammar?: string | null }): string | undefined {
  const hasSchema = b.json_schema !== undefined && b.json_schema !== null;
  const hasGrammar = b.grammar !== undefined && b.grammar !== null;
  if (hasSchema && hasGrammar) throw invalidField('grammar', 'give either json_schema or grammar, not both');
  if (hasSchema) return schemaGrammar('json_schema', b.json_schema);
  if (hasGrammar) return checkedGrammar('grammar', b.grammar as string);
  return undefined;
}
