/**
 * A small grammar tree used by the JSON Schema converter before it prints GBNF text, plus the two
 * whole-grammar checks the converter runs: which rules can derive a finite string (productive), and
 * which rules can reach themselves without consuming a character (left recursion, which would make a
 * naive matcher loop). Internal to the converter; not exported from the package.
 */

/** One grammar expression. `cls` carries the already-escaped body of a character class (`[...]`). */
export type GExpr =
  | { readonly k: 'lit'; readonly s: string }
  | { readonly k: 'cls'; readonly body: string }
  | { readonly k: 'ref'; readonly name: string }
  | { readonly k: 'seq'; readonly items: readonly GExpr[] }
  | { readonly k: 'alt'; readonly items: readonly GExpr[] }
  | { readonly k: 'rep'; readonly item: GExpr; readonly min: number; readonly max: number | null };

export const EMPTY: GExpr = { k: 'seq', items: [] };
export const lit = (s: string): GExpr => (s === '' ? EMPTY : { k: 'lit', s });
export const cls = (body: string): GExpr => ({ k: 'cls', body });
export const ref = (name: string): GExpr => ({ k: 'ref', name });
export const rep = (item: GExpr, min: number, max: number | null): GExpr => ({ k: 'rep', item, min, max });
export const opt = (item: GExpr): GExpr => (isEmpty(item) ? EMPTY : rep(item, 0, 1));

export function isEmpty(e: GExpr): boolean {
  return e.k === 'seq' && e.items.length === 0;
}

/** A sequence with empty parts dropped, nested sequences flattened and adjacent literals merged. */
export function seq(...parts: GExpr[]): GExpr {
  const out: GExpr[] = [];
  for (const p of parts) {
    const flat = p.k === 'seq' ? p.items : [p];
    for (const f of flat) {
      const last = out[out.length - 1];
      if (f.k === 'lit' && last?.k === 'lit') out[out.length - 1] = { k: 'lit', s: last.s + f.s };
      else out.push(f);
    }
  }
  return out.length === 1 ? out[0] : { k: 'seq', items: out };
}

/** Alternatives, with nested alternatives flattened and textual duplicates removed. */
export function alt(...parts: GExpr[]): GExpr {
  const out: GExpr[] = [];
  const seen = new Set<string>();
  for (const p of parts) {
    for (const f of p.k === 'alt' ? p.items : [p]) {
      const key = print(f, 0);
      if (!seen.has(key)) {
        seen.add(key);
        out.push(f);
      }
    }
  }
  return out.length === 1 ? out[0] : { k: 'alt', items: out };
}

/** A GBNF string literal: quotes, backslashes and control characters escaped, the rest verbatim. */
export function gbnfLiteral(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0').toUpperCase();
    else out += ch;
  }
  return out + '"';
}

/** Escapes one character for use inside a GBNF character class. */
export function classChar(ch: string): string {
  const c = ch.codePointAt(0)!;
  if (ch === ']' || ch === '[' || ch === '\\' || ch === '^' || ch === '-' || ch === '"') return '\\' + ch;
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  if (c < 0x20 || c === 0x7f) return '\\x' + c.toString(16).padStart(2, '0').toUpperCase();
  return ch;
}

// Precedence: 0 = alternatives allowed bare, 1 = inside a sequence, 2 = operand of a postfix operator.
export function print(e: GExpr, prec: number): string {
  switch (e.k) {
    case 'lit':
      return gbnfLiteral(e.s);
    case 'cls':
      return `[${e.body}]`;
    case 'ref':
      return e.name;
    case 'seq': {
      if (e.items.length === 0) return prec >= 2 ? '""' : '""';
      const s = e.items.map((i) => print(i, 1)).join(' ');
      return prec >= 2 && e.items.length > 1 ? `(${s})` : s;
    }
    case 'alt': {
      const s = e.items.map((i) => print(i, 0)).join(' | ');
      return prec >= 1 ? `(${s})` : s;
    }
    case 'rep': {
      const inner = print(e.item, 2);
      const { min, max } = e;
      if (min === 0 && max === 1) return inner + '?';
      if (min === 0 && max === null) return inner + '*';
      if (min === 1 && max === null) return inner + '+';
      if (max === null) return `${inner}{${min},}`;
      if (min === max) return `${inner}{${min}}`;
      return `${inner}{${min},${max}}`;
    }
  }
}

/** Rule names referenced by an expression. */
function refs(e: GExpr, out: string[]): string[] {
  if (e.k === 'ref') out.push(e.name);
  else if (e.k === 'seq' || e.k === 'alt') for (const i of e.items) refs(i, out);
  else if (e.k === 'rep') refs(e.item, out);
  return out;
}

/** Names of the rules reachable from `root`, in first-reached order. */
export function reachable(rules: ReadonlyMap<string, GExpr>, root: string): string[] {
  const order: string[] = [];
  const seen = new Set<string>([root]);
  const queue = [root];
  while (queue.length > 0) {
    const name = queue.shift()!;
    order.push(name);
    for (const r of refs(rules.get(name)!, [])) {
      if (!seen.has(r)) {
        seen.add(r);
        queue.push(r);
      }
    }
  }
  return order;
}

/** Rules that derive at least one finite string (least fixpoint). */
export function productiveRules(rules: ReadonlyMap<string, GExpr>): Set<string> {
  const good = new Set<string>();
  const prod = (e: GExpr): boolean => {
    switch (e.k) {
      case 'lit':
      case 'cls':
        return true;
      case 'ref':
        return good.has(e.name);
      case 'seq':
        return e.items.every(prod);
      case 'alt':
        return e.items.some(prod);
      case 'rep':
        return e.min === 0 || prod(e.item);
    }
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, body] of rules) {
      if (!good.has(name) && prod(body)) {
        good.add(name);
        changed = true;
      }
    }
  }
  return good;
}

/** A rule that can derive itself before consuming any character, or undefined. */
export function findLeftRecursion(rules: ReadonlyMap<string, GExpr>): string | undefined {
  const nullable = new Set<string>();
  const isNullable = (e: GExpr): boolean => {
    switch (e.k) {
      case 'lit':
        return e.s === '';
      case 'cls':
        return false;
      case 'ref':
        return nullable.has(e.name);
      case 'seq':
        return e.items.every(isNullable);
      case 'alt':
        return e.items.some(isNullable);
      case 'rep':
        return e.min === 0 || isNullable(e.item);
    }
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, body] of rules) {
      if (!nullable.has(name) && isNullable(body)) {
        nullable.add(name);
        changed = true;
      }
    }
  }
  // Rules each rule may start with (its "left corner").
  const leftRefs = (e: GExpr, out: Set<string>): boolean => {
    // Returns whether e is nullable, so the caller knows to continue to the next item.
    switch (e.k) {
      case 'ref':
        out.add(e.name);
        return nullable.has(e.name);
      case 'seq':
        for (const i of e.items) if (!leftRefs(i, out)) return false;
        return true;
      case 'alt': {
        let any = false;
        for (const i of e.items) any = leftRefs(i, out) || any;
        return any;
      }
      case 'rep':
        return leftRefs(e.item, out) || e.min === 0;
      default:
        return isNullable(e);
    }
  };
  const edges = new Map<string, Set<string>>();
  for (const [name, body] of rules) {
    const s = new Set<string>();
    leftRefs(body, s);
    edges.set(name, s);
  }
  for (const start of rules.keys()) {
    const seen = new Set<string>();
    const stack = [...edges.get(start)!];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n === start) return start;
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(...(edges.get(n) ?? []));
    }
  }
  return undefined;
}
