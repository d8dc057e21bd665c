/**
 * The grammar of the integers in a closed range, written canonically (no leading zeros, no `-0`):
 * what `type: 'integer'` with `minimum` / `maximum` / `exclusiveMinimum` / `exclusiveMaximum`
 * compiles to. Exact: the expression accepts the decimal text of every integer in the range and of
 * nothing else (bounded by the integer rule's 21 digits).
 */
import { EMPTY, type GExpr, alt, cls, lit, rep, seq } from './JsonSchemaGrammarAst';

/** The largest magnitude the integer rule can write: 21 digits. */
export const INTEGER_LIMIT = 10n ** 21n - 1n;

const digitClass = (lo: number, hi: number): GExpr => (lo === hi ? lit(String(lo)) : cls(`${lo}-${hi}`));
const anyDigits = (n: number): GExpr => (n === 0 ? EMPTY : rep(cls('0-9'), n, n));

/** Digit strings of equal length from lo to hi (inner positions: leading zeros allowed). */
function sameLength(lo: string, hi: string): GExpr {
  const n = lo.length;
  if (n === 0) return EMPTY;
  const a = Number(lo[0]);
  const b = Number(hi[0]);
  const loRest = lo.slice(1);
  const hiRest = hi.slice(1);
  if (a === b) return seq(lit(lo[0]), sameLength(loRest, hiRest));
  const loFull = /^0*$/.test(loRest);
  const hiFull = /^9*$/.test(hiRest);
  const parts: GExpr[] = [];
  if (!loFull) parts.push(seq(lit(lo[0]), sameLength(loRest, '9'.repeat(n - 1))));
  const from = loFull ? a : a + 1;
  const to = hiFull ? b : b - 1;
  if (from <= to) parts.push(seq(digitClass(from, to), anyDigits(n - 1)));
  if (!hiFull) parts.push(seq(lit(hi[0]), sameLength('0'.repeat(n - 1), hiRest)));
  return alt(...parts);
}

/** The non-negative integers from lo to hi (lo <= hi), canonical. */
function nonNegative(lo: bigint, hi: bigint): GExpr {
  const parts: GExpr[] = [];
  const hiLen = hi.toString().length;
  // lengths of 2+ digits whose every value is in range share one `[1-9] [0-9]{m,n}` (fewer parse stacks)
  let fullFrom = 0;
  const flush = (upTo: number) => {
    if (fullFrom > 0) parts.push(seq(cls('1-9'), rep(cls('0-9'), fullFrom - 1, upTo - 1)));
    fullFrom = 0;
  };
  for (let len = lo.toString().length; len <= hiLen; len++) {
    const first = len === 1 ? 0n : 10n ** BigInt(len - 1);
    const last = 10n ** BigInt(len) - 1n;
    const a = lo > first ? lo : first;
    const b = hi < last ? hi : last;
    if (len >= 2 && a === first && b === last) {
      if (fullFrom === 0) fullFrom = len;
      continue;
    }
    flush(len - 1);
    if (a <= b) parts.push(sameLength(a.toString(), b.toString()));
  }
  flush(hiLen);
  return alt(...parts);
}

/** The integers from min to max (both clamped to ±INTEGER_LIMIT); undefined when the range is empty. */
export function integerRange(min: bigint, max: bigint): GExpr | undefined {
  const lo = min < -INTEGER_LIMIT ? -INTEGER_LIMIT : min;
  const hi = max > INTEGER_LIMIT ? INTEGER_LIMIT : max;
  if (lo > hi) return undefined;
  const parts: GExpr[] = [];
  if (lo < 0n) parts.push(seq(lit('-'), nonNegative(hi < 0n ? -hi : 1n, -lo)));
  if (hi >= 0n) parts.push(nonNegative(lo > 0n ? lo : 0n, hi));
  return alt(...parts);
}

/**
 * The integer bounds of a schema's minimum / maximum / exclusiveMinimum / exclusiveMaximum (numbers;
 * non-integer bounds round inwards). Returns undefined when the schema has none of them; `bad` names
 * a keyword whose value is not a finite number.
 */
export function integerBounds(s: Record<string, unknown>): { min: bigint; max: bigint } | { bad: string } | undefined {
  const keys = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'].filter((k) => k in s);
  if (keys.length === 0) return undefined;
  let min = -INTEGER_LIMIT - 1n;
  let max = INTEGER_LIMIT + 1n;
  for (const k of keys) {
    const v = s[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) return { bad: k };
    if (k === 'minimum') min = big(Math.ceil(v)) > min ? big(Math.ceil(v)) : min;
    if (k === 'exclusiveMinimum') min = big(Math.floor(v)) + 1n > min ? big(Math.floor(v)) + 1n : min;
    if (k === 'maximum') max = big(Math.floor(v)) < max ? big(Math.floor(v)) : max;
    if (k === 'exclusiveMaximum') max = big(Math.ceil(v)) - 1n < max ? big(Math.ceil(v)) - 1n : max;
  }
  return { min, max };
}

const big = (v: number): bigint => BigInt(v);
