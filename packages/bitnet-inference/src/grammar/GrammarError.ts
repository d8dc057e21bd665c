/**
 * The typed error of the grammar engine: a GBNF syntax error, an undefined rule, a missing `root`,
 * left recursion, an oversized repetition, or a grammar whose parse-stack set grows past its bound
 * while matching. It is an {@link InferenceError} of type 'invalid_config' (a bad request, not an
 * engine fault).
 */
import { InferenceError } from '../errors/InferenceError';

/** Where in the grammar text an error was found (0-based offset, 1-based line and column). */
export interface GrammarPosition {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
}

/** Compute line and column (1-based) of a character offset in `text`. */
export function grammarPosition(text: string, offset: number): GrammarPosition {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(Math.max(offset, 0), text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { offset: end, line, column: end - lineStart + 1 };
}

/** A grammar that cannot be parsed or used. `position` is set when the error points into the text. */
export class GrammarError extends InferenceError {
  /** The problem without the location suffix. */
  readonly reason: string;

  constructor(
    reason: string,
    readonly position?: GrammarPosition,
  ) {
    super('invalid_config', position ? `grammar: ${reason} (line ${position.line}, column ${position.column})` : `grammar: ${reason}`, [
      'fix the grammar (llama.cpp GBNF syntax)',
    ]);
    this.name = 'GrammarError';
    this.reason = reason;
  }
}
