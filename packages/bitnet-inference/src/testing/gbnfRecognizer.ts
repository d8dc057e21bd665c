/**
 * Test-only GBNF tools, independent of the production grammar code: a parser for the llama.cpp GBNF
 * subset (rules, literals, character classes, groups, `| * + ? {m} {m,} {m,n}`), a recognizer that
 * decides whether a whole text is in the grammar's language (sets of end positions, memoized per rule
 * and position; assumes no left recursion), and a random sampler with a depth budget.
 */

export type Node =
  | { t: 'lit'; cps: number[] }
  | { t: 'cls'; neg: boolean; ranges: [number, number][] }
  | { t: 'ref'; name: string }
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; items: Node[] }
  | { t: 'rep'; item: Node; min: number; max: number };

export interface ParsedGrammar {
  rules: Map<string, Node>;
  first: string;
}

export function parseGbnf(text: string): ParsedGrammar {
  const src = Array.from(text);
  let i = 0;
  const rules = new Map<string, Node>();
  let first = '';
  const peek = () => src[i];
  const skipSpace = (newlines: boolean) => {
    for (;;) {
      const c = src[i];
      if (c === ' ' || c === '\t' || (newlines && (c === '\n' || c === '\r'))) i++;
      else if (c === '#') while (i < src.length && src[i] !== '\n') i++;
      else return;
    }
  };
  const name = (): string => {
    let s = '';
    while (i < src.length && /[a-zA-Z0-9-]/.test(src[i])) s += src[i++];
    if (s === '') throw new Error(`GBNF: name expected at ${i}: ${src.slice(i, i + 20).join('')}`);
    return s;
  };
  const hex = (n: number): number => {
    const h = src.slice(i, i + n).join('');
    if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== n) throw new Error(`GBNF: bad hex escape at ${i}`);
    i += n;
    return parseInt(h, 16);
  };
  const char = (): number => {
    const c = src[i++];
    if (c !== '\\') return c.codePointAt(0)!;
    const e = src[i++];
    switch (e) {
      case 'n': return 10;
      case 'r': return 13;
      case 't': return 9;
      case 'x': return hex(2);
      case 'u': return hex(4);
      case 'U': return hex(8);
      default: return e.codePointAt(0)!;
    }
  };
  const atom = (): Node => {
    const c = peek();
    if (c === '"') {
      i++;
      const cps: number[] = [];
      while (peek() !== '"') {
        if (i >= src.length) throw new Error('GBNF: unterminated literal');
        cps.push(char());
      }
      i++;
      return { t: 'lit', cps };
    }
    if (c === '[') {
      i++;
      let neg = false;
      if (peek() === '^') {
        neg = true;
        i++;
      }
      const ranges: [number, number][] = [];
      while (peek() !== ']') {
        if (i >= src.length) throw new Error('GBNF: unterminated class');
        const lo = char();
        if (peek() === '-' && src[i + 1] !== ']') {
          i++;
          ranges.push([lo, char()]);
        } else ranges.push([lo, lo]);
      }
      i++;
      return { t: 'cls', neg, ranges };
    }
    if (c === '(') {
      i++;
      const e = alts();
      skipSpace(true);
      if (src[i++] !== ')') throw new Error('GBNF: ) expected');
      return e;
    }
    return { t: 'ref', name: name() };
  };
  const postfix = (): Node => {
    let n = atom();
    for (;;) {
      const c = peek();
      if (c === '*') n = { t: 'rep', item: n, min: 0, max: Infinity };
      else if (c === '+') n = { t: 'rep', item: n, min: 1, max: Infinity };
      else if (c === '?') n = { t: 'rep', item: n, min: 0, max: 1 };
      else if (c === '{') {
        const close = src.indexOf('}', i);
        const body = src.slice(i + 1, close).join('');
        const m = /^(\d+)(,(\d*))?$/.exec(body);
        if (!m) throw new Error(`GBNF: bad repetition {${body}}`);
        const min = Number(m[1]);
        const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
        n = { t: 'rep', item: n, min, max };
        i = close;
      } else return n;
      i++;
    }
  };
  // Inside parentheses newlines are allowed; at top level a newline ends the rule.
  let depth = 0;
  const sequence = (): Node => {
    const items: Node[] = [];
    for (;;) {
      skipSpace(depth > 0);
      const c = peek();
      if (c === undefined || c === '|' || c === ')' || c === '\n' || c === '\r') break;
      items.push(postfix());
    }
    return { t: 'seq', items };
  };
  function alts(): Node {
    depth++;
    const items = [sequence()];
    for (;;) {
      skipSpace(depth > 1);
      if (peek() !== '|') break;
      i++;
      items.push(sequence());
    }
    depth--;
    return items.length === 1 ? items[0] : { t: 'alt', items };
  }
  for (;;) {
    skipSpace(true);
    if (i >= src.length) break;
    const n = name();
    skipSpace(false);
    if (src.slice(i, i + 3).join('') !== '::=') throw new Error(`GBNF: ::= expected after ${n}`);
    i += 3;
    skipSpace(true); // the body may start on the next line (llama.cpp allows it)
    depth = 0;
    const body = (() => {
      const items = [sequence()];
      for (;;) {
        skipSpace(false);
        if (peek() !== '|') break;
        i++;
        items.push(sequence());
      }
      return items.length === 1 ? items[0] : ({ t: 'alt', items } as Node);
    })();
    if (rules.has(n)) throw new Error(`GBNF: rule ${n} defined twice`);
    rules.set(n, body);
    if (first === '') first = n;
  }
  for (const [n, body] of rules) {
    const check = (e: Node): void => {
      if (e.t === 'ref' && !rules.has(e.name)) throw new Error(`GBNF: ${n} refers to undefined rule ${e.name}`);
      if (e.t === 'seq' || e.t === 'alt') e.items.forEach(check);
      if (e.t === 'rep') check(e.item);
    };
    check(body);
  }
  return { rules, first };
}

const inClass = (n: Extract<Node, { t: 'cls' }>, cp: number): boolean => n.ranges.some(([a, b]) => cp >= a && cp <= b) !== n.neg;

/** Whether the whole of `text` derives from `start` (default: the first rule). */
export function recognizes(g: ParsedGrammar, text: string, start = g.first): boolean {
  const cps = Array.from(text, (c) => c.codePointAt(0)!);
  const memo = new Map<string, Set<number>>();
  const ends = (e: Node, pos: number): Set<number> => {
    switch (e.t) {
      case 'lit': {
        for (let k = 0; k < e.cps.length; k++) if (cps[pos + k] !== e.cps[k]) return new Set();
        return new Set([pos + e.cps.length]);
      }
      case 'cls':
        return pos < cps.length && inClass(e, cps[pos]) ? new Set([pos + 1]) : new Set();
      case 'ref': {
        const key = `${e.name}@${pos}`;
        let r = memo.get(key);
        if (!r) {
          r = ends(g.rules.get(e.name)!, pos);
          memo.set(key, r);
        }
        return r;
      }
      case 'seq': {
        let cur = new Set([pos]);
        for (const item of e.items) {
          const next = new Set<number>();
          for (const p of cur) for (const q of ends(item, p)) next.add(q);
          cur = next;
          if (cur.size === 0) break;
        }
        return cur;
      }
      case 'alt': {
        const out = new Set<number>();
        for (const item of e.items) for (const q of ends(item, pos)) out.add(q);
        return out;
      }
      case 'rep': {
        const out = new Set<number>();
        const seen = new Set<number>();
        let frontier = new Set([pos]);
        for (let n = 0; ; n++) {
          if (n >= e.min) {
            const fresh = new Set<number>();
            for (const p of frontier) if (!seen.has(p)) fresh.add(p);
            frontier = fresh;
            for (const p of frontier) {
              seen.add(p);
              out.add(p);
            }
          }
          if (n === e.max || frontier.size === 0) break;
          const next = new Set<number>();
          for (const p of frontier) for (const q of ends(e.item, p)) next.add(q);
          frontier = next;
        }
        return out;
      }
    }
  };
  return ends({ t: 'ref', name: start }, 0).has(cps.length);
}

const SAMPLE_CHARS = Array.from('aZ09 _-"\\/\u00e9\u4e2d\u{1F600}\u007f~{}[]:,.\n\t\u0001');

/** Random strings of the grammar: uniform choices, then the shortest derivations once `maxDepth` rules deep or `maxLength` characters long. */
export function sampler(g: ParsedGrammar, rand: () => number, maxDepth = 8, maxLength = 400): () => string {
  const cost = new Map<string, number>();
  const costOf = (e: Node): number => {
    switch (e.t) {
      case 'lit': return e.cps.length;
      case 'cls': return 1;
      case 'ref': return cost.get(e.name) ?? Infinity;
      case 'seq': return e.items.reduce((s, x) => s + costOf(x), 0);
      case 'alt': return Math.min(...e.items.map(costOf));
      case 'rep': return e.min === 0 ? 0 : e.min * costOf(e.item);
    }
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const [n, body] of g.rules) {
      const c = costOf(body);
      if (c < (cost.get(n) ?? Infinity)) {
        cost.set(n, c);
        changed = true;
      }
    }
  }
  const pickChar = (e: Extract<Node, { t: 'cls' }>): number => {
    if (!e.neg) {
      const [a, b] = e.ranges[Math.floor(rand() * e.ranges.length)];
      return a + Math.floor(rand() * (b - a + 1));
    }
    const pool = SAMPLE_CHARS.map((c) => c.codePointAt(0)!).filter((cp) => inClass(e, cp));
    if (pool.length === 0) throw new Error('sampler: empty class pool');
    return pool[Math.floor(rand() * pool.length)];
  };
  const out: number[] = [];
  const gen = (e: Node, depth: number): void => {
    const deep = depth > maxDepth || out.length > maxLength;
    switch (e.t) {
      case 'lit': out.push(...e.cps); return;
      case 'cls': out.push(pickChar(e)); return;
      case 'ref': gen(g.rules.get(e.name)!, depth + 1); return;
      case 'seq': for (const x of e.items) gen(x, depth); return;
      case 'alt': {
        let choice: Node;
        if (deep) {
          choice = e.items.reduce((a, b) => (costOf(b) < costOf(a) ? b : a));
        } else {
          const finite = e.items.filter((x) => costOf(x) < Infinity);
          choice = finite[Math.floor(rand() * finite.length)];
        }
        gen(choice, depth);
        return;
      }
      case 'rep': {
        let n = e.min;
        if (!deep) {
          const room = Math.min(e.max - e.min, 4);
          n += Math.floor(rand() * (room + 1));
        }
        for (let k = 0; k < n; k++) gen(e.item, depth);
        return;
      }
    }
  };
  return () => {
    out.length = 0;
    gen({ t: 'ref', name: g.first }, 0);
    return String.fromCodePoint(...out);
  };
}

/** A small deterministic PRNG (LCG) for reproducible tests. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}
