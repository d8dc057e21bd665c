/**
 * JSON Schema → GBNF (llama.cpp grammar syntax). The grammar accepts the canonical serialization of
 * every value the schema accepts (properties in the schema's order, strings and numbers as
 * `JSON.stringify` prints them, whitespace per {@link JsonSchemaGbnfOptions.whitespace}), and every text
 * it accepts parses (`JSON.parse`) to a value the schema accepts. Keywords that a context-free grammar
 * cannot express exactly (or that are not implemented) are rejected with {@link JsonSchemaError}
 * rather than silently loosened. This is the converter only; constrained decoding uses it later.
 */
import { JsonSchemaError, MAX_SCHEMA_DEPTH, MAX_SCHEMA_REPETITION, MAX_SCHEMA_RULES } from './JsonSchemaError';
import { extraKeyGrammar } from './ExtraKeyGrammar';
import {
  EMPTY, type GExpr, alt, cls, findLeftRecursion, isEmpty, lit, opt, print, productiveRules, reachable, ref, rep, seq,
} from './JsonSchemaGrammarAst';
import { integerBounds, integerRange } from './IntegerRange';
import { describeValue } from '@bitnet/models';

export { JsonSchemaError, type JsonSchemaErrorReason, MAX_SCHEMA_DEPTH, MAX_SCHEMA_REPETITION, MAX_SCHEMA_RULES } from './JsonSchemaError';

/** minimum / maximum / exclusive*: supported on `integer` only (an exact range grammar). */
const NUMBER_BOUNDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'];

/** Options of {@link jsonSchemaToGbnf}. */
export interface JsonSchemaGbnfOptions {
  /**
   * Whitespace between JSON tokens (never inside the value's strings, never before or after the root):
   *  - `'none'` (default): none at all — exactly `JSON.stringify(value)`; the fewest tokens, and no way
   *    for a model to spin in whitespace;
   *  - `'compact'`: optionally one space after each `:` and `,` (`{"a": 1, "b": 2}` and `{"a":1}` both);
   *  - `'flexible'`: at each token boundary either nothing, one space, or a newline followed by up to
   *    40 spaces/tabs — accepts `JSON.stringify(value, null, 2)` up to nesting depth 20.
   */
  whitespace?: 'none' | 'compact' | 'flexible';
  /**
   * What an object schema without an `additionalProperties` keyword allows: `false` (default) — only
   * the declared properties, like OpenAI's strict structured output; `true` — any further properties
   * with any value, after the declared ones (JSON Schema's own default, and llama.cpp's).
   */
  allowAdditionalProperties?: boolean;
}

const ANNOTATIONS = new Set(['title', 'description', 'examples', 'default', '$schema', '$id', '$comment', 'deprecated', 'readOnly', 'writeOnly', '$defs', 'definitions']);
const SUPPORTED = new Set(['type', 'properties', 'required', 'additionalProperties', 'enum', 'const', 'items', 'minItems', 'maxItems', 'anyOf', 'oneOf', '$ref', 'minLength', 'maxLength', ...NUMBER_BOUNDS]);
// Keywords that only appear with anyOf/oneOf/$ref/enum/const if nothing else constrains the value.
const COMPOSITION = ['anyOf', 'oneOf', '$ref', 'enum', 'const'];
const TYPES = ['object', 'array', 'string', 'number', 'integer', 'boolean', 'null'] as const;
type JsonType = (typeof TYPES)[number];

type Schema = Record<string, unknown>;

const isObj = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);
const ptr = (path: string, ...keys: (string | number)[]): string =>
  path + keys.map((k) => '/' + String(k).replace(/~/g, '~0').replace(/\//g, '~1')).join('');

/**
 * Converts a JSON Schema (the subset listed in the README) to a GBNF grammar whose first rule is `root`.
 * @throws JsonSchemaError for unsupported keywords, invalid or unsatisfiable schemas and absurd bounds.
 */
export function jsonSchemaToGbnf(schema: unknown, options: JsonSchemaGbnfOptions = {}): string {
  return new Converter(schema, options).run();
}

class Converter {
  private readonly rules = new Map<string, GExpr>();
  private readonly byBody = new Map<string, string>();
  private readonly refRules = new Map<string, string>();
  private readonly ws: 'none' | 'compact' | 'flexible';
  private readonly allowExtra: boolean;
  private depth = 0;

  constructor(
    private readonly root: unknown,
    options: JsonSchemaGbnfOptions,
  ) {
    const ws = options.whitespace ?? 'none';
    if (ws !== 'none' && ws !== 'compact' && ws !== 'flexible') throw new JsonSchemaError('', 'whitespace', 'invalid', `unknown option '${String(ws)}'`);
    this.ws = ws;
    this.allowExtra = options.allowAdditionalProperties ?? false;
  }

  run(): string {
    if (!isObj(this.root) && typeof this.root !== 'boolean') throw new JsonSchemaError('', 'schema', 'invalid', 'a schema must be an object or a boolean');
    this.rules.set('root', EMPTY); // reserve the name
    this.rules.set('root', this.compile(this.root, ''));
    const productive = productiveRules(this.rules);
    if (!productive.has('root')) throw new JsonSchemaError('', 'schema', 'unsatisfiable', 'no finite JSON value satisfies the schema (a required recursion never ends)');
    const loop = findLeftRecursion(this.rules);
    if (loop !== undefined) throw new JsonSchemaError('', '$ref', 'unsupported', `rule '${loop}' refers to itself without consuming input`);
    const names = reachable(this.rules, 'root');
    return names.map((n) => `${n} ::= ${print(this.rules.get(n)!, 0)}`).join('\n') + '\n';
  }

  // ---- whitespace pieces
  private wsRule(): GExpr {
    if (this.ws !== 'flexible') return EMPTY;
    return this.builtin('ws', () => opt(alt(lit(' '), seq(lit('\n'), rep(cls(' \\t'), 0, 40)))));
  }
  private open(c: string): GExpr { return seq(lit(c), this.wsRule()); }
  private close(c: string): GExpr { return seq(this.wsRule(), lit(c)); }
  private comma(): GExpr { return this.ws === 'compact' ? seq(lit(','), opt(lit(' '))) : seq(this.wsRule(), lit(','), this.wsRule()); }
  private colon(): GExpr { return this.ws === 'compact' ? seq(lit(':'), opt(lit(' '))) : seq(this.wsRule(), lit(':'), this.wsRule()); }

  // ---- rule bookkeeping
  private builtin(name: string, make: () => GExpr): GExpr {
    if (!this.rules.has(name)) {
      this.rules.set(name, EMPTY);
      this.rules.set(name, make());
    }
    return ref(name);
  }
  /** Names `body` as a rule (reusing an identical rule) and returns a reference to it. */
  private named(hint: string, body: GExpr): GExpr {
    if (body.k === 'ref' || body.k === 'lit' || body.k === 'cls') return body;
    const text = print(body, 0);
    const known = this.byBody.get(text);
    if (known !== undefined) return ref(known);
    const name = this.freshName(hint);
    this.rules.set(name, body);
    this.byBody.set(text, name);
    return ref(name);
  }
  private freshName(hint: string): string {
    if (this.rules.size >= MAX_SCHEMA_RULES) throw new JsonSchemaError('', 'schema', 'limit', `the grammar would need more than ${MAX_SCHEMA_RULES} rules`);
    const base = hint.replace(/[^a-zA-Z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48) || 'r';
    let name = base;
    for (let i = 2; this.rules.has(name) || /^(ws|value|object|array|string|char|number|integer|boolean|null)$/.test(name); i++) name = `${base}-${i}`;
    return name;
  }

  // ---- primitives
  private stringRule(): GExpr {
    return this.builtin('string', () => seq(lit('"'), rep(this.charRule(), 0, null), lit('"')));
  }
  private charRule(): GExpr {
    // Any character but `"`, `\` and C0 controls, or an escape. \u escapes of surrogates are left out so
    // one grammar character is one code point (string lengths stay exact); JSON.stringify only writes
    // such escapes for lone surrogates, which UTF-8 text cannot carry anyway.
    const hex = cls('0-9a-fA-F');
    const u = alt(seq(cls('0-9a-cA-CefEF'), hex, hex, hex), seq(cls('dD'), cls('0-7'), hex, hex));
    return this.builtin('char', () => alt(cls('^"\\\\\\x00-\\x1F'), seq(lit('\\'), alt(cls('"\\\\/bfnrt'), seq(lit('u'), u)))));
  }
  private numberRule(): GExpr {
    // Integer part up to 21 digits (all JSON.stringify prints without an exponent); an exponent only after
    // a one-digit integer part and at most e+307, so no accepted text overflows to Infinity.
    return this.builtin('number', () => {
      const frac = seq(lit('.'), rep(cls('0-9'), 1, 24));
      const expPos = alt(rep(cls('0-9'), 1, 2), seq(cls('12'), cls('0-9'), cls('0-9')), seq(lit('30'), cls('0-7')));
      const exp = seq(cls('eE'), alt(seq(lit('-'), rep(cls('0-9'), 1, 3)), seq(opt(lit('+')), expPos)));
      return seq(opt(lit('-')), alt(seq(this.intDigits(), opt(frac)), seq(cls('0-9'), opt(frac), exp)));
    });
  }
  private intDigits(): GExpr { return alt(lit('0'), seq(cls('1-9'), rep(cls('0-9'), 0, 20))); }
  // no "-0": JSON.stringify never writes it
  private integerRule(): GExpr { return this.builtin('integer', () => alt(lit('0'), seq(opt(lit('-')), cls('1-9'), rep(cls('0-9'), 0, 20)))); }
  private booleanRule(): GExpr { return this.builtin('boolean', () => alt(lit('true'), lit('false'))); }
  private anyValue(): GExpr {
    return this.builtin('value', () => {
      const v = ref('value');
      const member = seq(this.stringRule(), this.colon(), v);
      const obj = this.builtin('object', () => this.container('{', '}', seq(member, rep(seq(this.comma(), member), 0, null)), false));
      const arr = this.builtin('array', () => this.container('[', ']', seq(v, rep(seq(this.comma(), v), 0, null)), false));
      return alt(obj, arr, this.stringRule(), this.numberRule(), this.booleanRule(), lit('null'));
    });
  }
  /** `{ body }` with whitespace, `body` possibly empty unless `required`. */
  private container(o: string, c: string, body: GExpr, required: boolean): GExpr {
    if (required) return seq(this.open(o), body, this.close(c));
    if (this.ws !== 'flexible') return seq(lit(o), opt(body), lit(c));
    return alt(seq(this.open(o), lit(c)), seq(this.open(o), body, this.close(c)));
  }

  /** A constant JSON value, spelled canonically with the whitespace policy between tokens. */
  private constant(v: unknown, path: string, keyword: string): GExpr {
    if (v === null || typeof v === 'boolean' || typeof v === 'string') return lit(JSON.stringify(v));
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new JsonSchemaError(path, keyword, 'invalid', 'not a finite number');
      return lit(JSON.stringify(v));
    }
    if (Array.isArray(v)) {
      if (v.length === 0) return lit('[]');
      const items = v.map((x, i) => this.constant(x, ptr(path, i), keyword));
      return this.container('[', ']', seq(...items.flatMap((x, i) => (i === 0 ? [x] : [this.comma(), x]))), true);
    }
    if (isObj(v)) {
      const keys = Object.keys(v);
      if (keys.length === 0) return lit('{}');
      const members = keys.map((k) => seq(lit(JSON.stringify(k)), this.colon(), this.constant(v[k], ptr(path, k), keyword)));
      return this.container('{', '}', seq(...members.flatMap((x, i) => (i === 0 ? [x] : [this.comma(), x]))), true);
    }
    throw new JsonSchemaError(path, keyword, 'invalid', 'not a JSON value');
  }

  // ---- schemas
  private compile(s: unknown, path: string): GExpr {
    if (this.depth >= MAX_SCHEMA_DEPTH) throw new JsonSchemaError(path, 'schema', 'limit', `subschemas nest deeper than ${MAX_SCHEMA_DEPTH}`);
    this.depth++;
    try {
      return this.compileNode(s, path);
    } finally {
      this.depth--;
    }
  }

  private compileNode(s: unknown, path: string): GExpr {
    if (s === true) return this.anyValue();
    if (s === false) throw new JsonSchemaError(path, 'schema', 'unsatisfiable', 'the false schema accepts nothing');
    if (!isObj(s)) throw new JsonSchemaError(path, 'schema', 'invalid', 'a schema must be an object or a boolean');
    const keys = Object.keys(s);
    for (const k of keys) {
      if (!SUPPORTED.has(k) && !ANNOTATIONS.has(k)) throw new JsonSchemaError(ptr(path, k), k, 'unsupported', 'keyword not supported');
    }
    for (const k of ['$defs', 'definitions']) if (k in s && !isObj(s[k])) throw new JsonSchemaError(ptr(path, k), k, 'invalid', 'must be an object');
    const constraints = keys.filter((k) => SUPPORTED.has(k));
    const comp = constraints.filter((k) => COMPOSITION.includes(k));
    if (comp.length > 0) {
      const head = comp[0];
      const others = constraints.filter((k) => k !== head && !(head === 'enum' || head === 'const' ? k === 'type' : false));
      if (others.length > 0) throw new JsonSchemaError(ptr(path, others[0]), others[0], 'unsupported', `'${others[0]}' next to '${head}' is not supported (move it into the branches)`);
      if (head === '$ref') return this.refTo(s.$ref, ptr(path, '$ref'));
      if (head === 'anyOf' || head === 'oneOf') {
        const branches = s[head];
        if (!Array.isArray(branches) || branches.length === 0) throw new JsonSchemaError(ptr(path, head), head, 'invalid', 'must be a non-empty array');
        const parts: GExpr[] = [];
        for (let i = 0; i < branches.length; i++) {
          if (branches[i] === false) continue;
          parts.push(this.compile(branches[i], ptr(path, head, i)));
        }
        if (parts.length === 0) throw new JsonSchemaError(ptr(path, head), head, 'unsatisfiable', 'every branch is false');
        return this.named(this.hint(path), alt(...parts));
      }
      const types = this.types(s, path);
      const values = head === 'const' ? [s.const] : s.enum;
      if (!Array.isArray(values)) throw new JsonSchemaError(ptr(path, head), head, 'invalid', 'must be an array');
      const kept = values.filter((v) => types.some((t) => matchesType(v, t)));
      if (kept.length === 0) throw new JsonSchemaError(ptr(path, head), head, 'unsatisfiable', 'no value is allowed');
      const parts = kept.map((v, i) => this.constant(v, ptr(path, head, i), head));
      return parts.length === 1 ? parts[0] : this.named(this.hint(path), alt(...parts));
    }
    const types = this.types(s, path);
    const parts = types.filter((t) => !(t === 'integer' && types.includes('number'))).map((t) => this.typed(t, s, path));
    return parts.length === 1 ? parts[0] : this.named(this.hint(path), alt(...parts));
  }

  private hint(path: string): string {
    return path === '' ? 'root-value' : 'root' + path;
  }

  private types(s: Schema, path: string): JsonType[] {
    if (!('type' in s)) return [...TYPES];
    const t = s.type;
    const list = Array.isArray(t) ? t : [t];
    if (list.length === 0) throw new JsonSchemaError(ptr(path, 'type'), 'type', 'unsatisfiable', 'an empty type list accepts nothing');
    for (const x of list) if (!TYPES.includes(x as JsonType)) throw new JsonSchemaError(ptr(path, 'type'), 'type', 'invalid', `unknown type ${JSON.stringify(x)}`);
    return [...new Set(list as JsonType[])];
  }

  private typed(t: JsonType, s: Schema, path: string): GExpr {
    switch (t) {
      case 'null': return lit('null');
      case 'boolean': return this.booleanRule();
      case 'integer': return this.integer(s, path);
      case 'number': {
        const k = NUMBER_BOUNDS.find((b) => b in s);
        if (k !== undefined) throw new JsonSchemaError(ptr(path, k), k, 'unsupported', "supported on type 'integer' only");
        return this.numberRule();
      }
      case 'string': return this.string(s, path);
      case 'array': return this.array(s, path);
      case 'object': return this.object(s, path);
    }
  }

  /** An integer, in the range of minimum / maximum / exclusive* when the schema gives one. */
  private integer(s: Schema, path: string): GExpr {
    const b = integerBounds(s);
    if (b === undefined) return this.integerRule();
    if ('bad' in b) throw new JsonSchemaError(ptr(path, b.bad), b.bad, 'invalid', 'must be a finite number');
    const range = integerRange(b.min, b.max);
    if (range === undefined) throw new JsonSchemaError(ptr(path, 'minimum' in s ? 'minimum' : 'exclusiveMinimum'), 'minimum' in s ? 'minimum' : 'exclusiveMinimum', 'unsatisfiable', 'no integer lies in the range');
    return this.named(this.hint(path) + '-int', range);
  }

  private count(s: Schema, path: string, key: string): number | undefined {
    if (!(key in s)) return undefined;
    const v = s[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new JsonSchemaError(ptr(path, key), key, 'invalid', 'must be a non-negative integer');
    if (v > MAX_SCHEMA_REPETITION) throw new JsonSchemaError(ptr(path, key), key, 'limit', `${v} exceeds the converter's limit of ${MAX_SCHEMA_REPETITION}`);
    return v;
  }

  private bounds(s: Schema, path: string, minKey: string, maxKey: string): [number, number | null] {
    const min = this.count(s, path, minKey) ?? 0;
    const max = this.count(s, path, maxKey) ?? null;
    if (max !== null && min > max) throw new JsonSchemaError(ptr(path, minKey), minKey, 'unsatisfiable', `${minKey} ${min} > ${maxKey} ${max}`);
    return [min, max];
  }

  private string(s: Schema, path: string): GExpr {
    const [min, max] = this.bounds(s, path, 'minLength', 'maxLength');
    if (min === 0 && max === null) return this.stringRule();
    return this.named(this.hint(path) + '-string', seq(lit('"'), rep(this.charRule(), min, max), lit('"')));
  }

  private array(s: Schema, path: string): GExpr {
    const [min, max] = this.bounds(s, path, 'minItems', 'maxItems');
    if ('items' in s && Array.isArray(s.items)) throw new JsonSchemaError(ptr(path, 'items'), 'items', 'unsupported', 'tuple form (an array of schemas) is not supported');
    if (max === 0) return lit('[]');
    const item = 'items' in s ? this.compile(s.items, ptr(path, 'items')) : this.anyValue();
    const rest = rep(seq(this.comma(), item), Math.max(0, min - 1), max === null ? null : max - 1);
    return this.named(this.hint(path), this.container('[', ']', seq(item, rest), min > 0));
  }

  private object(s: Schema, path: string): GExpr {
    const props = s.properties ?? {};
    if (!isObj(props)) throw new JsonSchemaError(ptr(path, 'properties'), 'properties', 'invalid', 'must be an object');
    const required = s.required ?? [];
    if (!Array.isArray(required) || required.some((r) => typeof r !== 'string')) throw new JsonSchemaError(ptr(path, 'required'), 'required', 'invalid', 'must be an array of strings');
    for (const r of required as string[]) {
      if (!(r in props)) throw new JsonSchemaError(ptr(path, 'required'), 'required', 'unsupported', `required property '${r}' must be declared in properties`);
    }
    const ap = 'additionalProperties' in s ? s.additionalProperties : this.allowExtra;
    let extraValue: GExpr | undefined;
    if (ap !== false) extraValue = ap === true ? this.anyValue() : this.compile(ap, ptr(path, 'additionalProperties'));

    const names = Object.keys(props);
    const members: { kv: GExpr; required: boolean }[] = [];
    for (const name of names) {
      const isReq = (required as string[]).includes(name);
      if (props[name] === false) {
        if (isReq) throw new JsonSchemaError(ptr(path, 'properties', name), name, 'unsatisfiable', 'a required property with the false schema');
        continue;
      }
      const value = this.compile(props[name], ptr(path, 'properties', name));
      members.push({ kv: seq(lit(JSON.stringify(name)), this.colon(), value), required: isReq });
    }
    const base = this.hint(path);
    // after[i]: members i.. when something was already written (each preceded by a comma);
    // first[i]: members i.. when nothing was written yet, at least one member written.
    const extraKv = extraValue ? seq(this.extraKey(names, base), this.colon(), extraValue) : undefined;
    let after: GExpr = extraKv ? this.named(base + '-rest', rep(seq(this.comma(), extraKv), 0, null)) : EMPTY;
    let first: GExpr | undefined = extraKv ? seq(extraKv, after) : undefined;
    for (let i = members.length - 1; i >= 0; i--) {
      const m = members[i];
      const withThis = seq(m.kv, after);
      const nextFirst: GExpr = m.required ? withThis : first ? alt(withThis, first) : withThis;
      const nextAfter = m.required ? seq(this.comma(), m.kv, after) : seq(opt(seq(this.comma(), m.kv)), after);
      first = i === 0 ? nextFirst : this.named(`${base}-from-${i}`, nextFirst);
      after = isEmpty(nextAfter) ? EMPTY : this.named(`${base}-after-${i}`, nextAfter);
    }
    if (first === undefined) return lit('{}');
    const anyRequired = members.some((m) => m.required);
    return this.named(base, this.container('{', '}', first, anyRequired));
  }

  /** A quoted key that differs from every declared name (see extraKeyGrammar). */
  private extraKey(names: string[], base: string): GExpr {
    return extraKeyGrammar(names, this.charRule(), (body) => this.named(`${base}-key`, body));
  }

  private refTo(target: unknown, path: string): GExpr {
    if (typeof target !== 'string' || !target.startsWith('#')) throw new JsonSchemaError(path, '$ref', 'unsupported', `only local references ("#/...") are supported, got ${describeValue(target)}`);
    const known = this.refRules.get(target);
    if (known !== undefined) return ref(known);
    if (target === '#') {
      this.refRules.set(target, 'root');
      return ref('root');
    }
    if (!target.startsWith('#/')) throw new JsonSchemaError(path, '$ref', 'unsupported', `unsupported reference ${JSON.stringify(target)}`);
    let node: unknown = this.root;
    const parts = target.slice(2).split('/').map((p) => decodeURIComponent(p).replace(/~1/g, '/').replace(/~0/g, '~'));
    for (const p of parts) {
      if (!(isObj(node) || Array.isArray(node)) || !(p in (node as object))) throw new JsonSchemaError(path, '$ref', 'invalid', `${JSON.stringify(target)} does not resolve`);
      node = (node as Record<string, unknown>)[p];
    }
    const name = this.freshName('ref-' + parts.join('-'));
    this.refRules.set(target, name);
    this.rules.set(name, EMPTY); // reserve the name so recursive references resolve to it
    this.rules.set(name, this.compile(node, target.slice(1)));
    return ref(name);
  }
}

function matchesType(v: unknown, t: JsonType): boolean {
  switch (t) {
    case 'null': return v === null;
    case 'boolean': return typeof v === 'boolean';
    case 'string': return typeof v === 'string';
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'integer': return typeof v === 'number' && Number.isInteger(v);
    case 'array': return Array.isArray(v);
    case 'object': return isObj(v);
  }
}
