/**
 * The grammar of an object key that is none of the declared property names (for objects that allow
 * additional properties after the declared ones).
 */
import { type GExpr, alt, cls, lit, rep, seq } from './JsonSchemaGrammarAst';

/**
 * A quoted key that differs from every name in `names`: a walk through the trie of the names that
 * leaves it by a different character, or ends early. Inside the trie only unescaped characters and the
 * short escapes are allowed, so an escaped spelling cannot smuggle a declared name in. `char` is one
 * JSON string character (escapes included); `named` turns each trie node's alternatives into a rule.
 */
export function extraKeyGrammar(names: readonly string[], char: GExpr, named: (body: GExpr) => GExpr): GExpr {
  const tail = rep(char, 0, null);
  const build = (prefixes: readonly string[], depth: number): GExpr => {
    const children = new Map<string, string[]>();
    let isWord = false;
    for (const n of prefixes) {
      const chars = Array.from(n);
      if (chars.length === depth) isWord = true;
      else {
        const c = chars[depth];
        children.set(c, [...(children.get(c) ?? []), n]);
      }
    }
    const alts: GExpr[] = [];
    if (!isWord) alts.push(lit('"'));
    const excluded = [...children.keys()];
    const classBody = '^"\\\\\\x00-\\x1F' + excluded.filter((c) => c.codePointAt(0)! >= 0x20 && c !== '"' && c !== '\\').map(classCharSafe).join('');
    alts.push(seq(cls(classBody), tail, lit('"')));
    const shortEsc: [string, string][] = [['"', '"'], ['\\', '\\\\'], ['\b', 'b'], ['\f', 'f'], ['\n', 'n'], ['\r', 'r'], ['\t', 't']];
    const escAllowed = shortEsc.filter(([c]) => !children.has(c)).map(([, e]) => e);
    if (escAllowed.length > 0) alts.push(seq(lit('\\'), cls(escAllowed.map((e) => (e === '"' ? '"' : e === '\\\\' ? '\\\\' : e)).join('')), tail, lit('"')));
    for (const [c, group] of children) alts.push(seq(lit(JSON.stringify(c).slice(1, -1)), build(group, depth + 1)));
    return named(alt(...alts));
  };
  return seq(lit('"'), build(names, 0));
}

/** A character as it may stand inside a GBNF character class. */
function classCharSafe(ch: string): string {
  if (ch === ']' || ch === '[' || ch === '^' || ch === '-') return '\\' + ch;
  if (ch.codePointAt(0) === 0x7f) return '\\x7F';
  return ch;
}
