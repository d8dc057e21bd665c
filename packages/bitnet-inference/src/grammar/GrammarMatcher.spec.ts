import { ARITHMETIC_GBNF, JSON_GBNF, LIST_GBNF } from '../testing/exampleGrammars';
import { parseGbnf } from './Gbnf';
import { GrammarError } from './GrammarError';
import { GrammarMatcher, MAX_INTERNED_STATES } from './GrammarMatcher';
import { jsonSchemaToGbnf } from './JsonSchemaToGbnf';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** -1 when `text` is a complete sentence, -2 a valid prefix that cannot end, else the first rejected byte. */
function verdict(grammar: string, text: string): number {
  const m = new GrammarMatcher(grammar);
  const bad = m.firstRejected(utf8(text), true);
  if (bad >= 0) return bad;
  return m.canEnd ? -1 : -2;
}

describe('GrammarMatcher on llama.cpp example grammars', () => {
  const json = parseGbnf(JSON_GBNF);

  it('accepts valid JSON objects', () => {
    const valid = [
      '{}',
      '{"a":1}',
      '{ "a": [1, 2.5, -3e5, 1e12, true, false, null], "b": {"c": "d\\n\\u00e9\\"x"} }',
      '{"nested":{"deep":[[[{}]]]},"s":"日本語 é 😀"}',
      '{\n  "k": "v",\n  "n": 0.125\n}',
      '{"num": -0, "e": 1E+5, "x": 10.0e-1}',
    ];
    for (const s of valid) {
      expect([s, verdict(JSON_GBNF, s)]).toEqual([s, -1]);
      expect(() => JSON.parse(s)).not.toThrow();
    }
  });

  it('rejects invalid JSON at the right byte', () => {
    const cases: [string, number][] = [
      ['[1,2]', 0], // the root is an object
      ['{"a" 1}', 5],
      ['{"a":01}', 6],
      ['{"a":1,}', 7],
      ['{"a":"\x01"}', 6],
      ['{"a":"\\x"}', 7],
      ['{"a":tru}', 8],
      ['{"a":1}}', 7],
      ['{a:1}', 1],
      ['{"a":[1 2]}', 8],
    ];
    for (const [s, at] of cases) expect([s, verdict(JSON_GBNF, s)]).toEqual([s, at]);
    expect(verdict(JSON_GBNF, '{"a":')).toBe(-2);
    expect(verdict(JSON_GBNF, '{"a":"é')).toBe(-2);
  });

  it('bounds whitespace the way the grammar says', () => {
    expect(verdict(JSON_GBNF, `{\n${' '.repeat(20)}"a":1}`)).toBe(-1);
    expect(verdict(JSON_GBNF, `{\n${' '.repeat(21)}"a":1}`)).toBe(22);
    expect(verdict(JSON_GBNF, '{  "a":1}')).toBe(2);
  });

  it('arithmetic', () => {
    expect(verdict(ARITHMETIC_GBNF, 'a = 1\n')).toBe(-1);
    expect(verdict(ARITHMETIC_GBNF, '(x1 +22) *y_z = (3)\nb/c=d\n')).toBe(-1);
    expect(verdict(ARITHMETIC_GBNF, 'x1 + y = 3\n')).toBe(4); // no blank after an operator
    expect(verdict(ARITHMETIC_GBNF, 'a = 1')).toBe(-2);
    expect(verdict(ARITHMETIC_GBNF, 'A = 1\n')).toBe(0);
    expect(verdict(ARITHMETIC_GBNF, 'a + = 1\n')).toBe(3);
    expect(verdict(ARITHMETIC_GBNF, 'a = 1 + 2\n')).toBe(6);
  });

  it('list', () => {
    expect(verdict(LIST_GBNF, '- one\n- two 日本\n')).toBe(-1);
    expect(verdict(LIST_GBNF, '- one\n')).toBe(-1);
    expect(verdict(LIST_GBNF, '')).toBe(-2);
    expect(verdict(LIST_GBNF, '- \n')).toBe(2);
    expect(verdict(LIST_GBNF, '* one\n')).toBe(0);
    expect(verdict(LIST_GBNF, '- a\u2028b\n')).toBe(5); // U+2028 (e2 80 a8) is excluded: rejected at its last byte
  });
});

describe('GrammarMatcher bytes and UTF-8', () => {
  const g = 'root ::= "é" | "日本"';

  it('matches multi-byte characters split across tokens', () => {
    for (const text of ['é', '日本']) {
      const bytes = utf8(text);
      // every way to cut the bytes into tokens
      for (let mask = 0; mask < 1 << (bytes.length - 1); mask++) {
        const m = new GrammarMatcher(g);
        let start = 0;
        for (let i = 1; i <= bytes.length; i++) {
          if (i === bytes.length || mask & (1 << (i - 1))) {
            expect(m.acceptBytes(bytes.subarray(start, i))).toBe(true);
            expect(m.canEnd).toBe(i === bytes.length);
            expect(m.isPending).toBe(i < bytes.length && (text === 'é' || i % 3 !== 0));
            start = i;
          }
        }
      }
    }
  });

  it('rejects wrong continuation bytes, other characters and invalid UTF-8 at the right byte', () => {
    expect(verdict(g, 'è')).toBe(1); // c3 a8: lead byte fits é (c3 a9), the second does not
    expect(verdict(g, '日日')).toBe(4); // e6 97 vs 本's e6 9c
    expect(verdict(g, '本')).toBe(1); // e6 9c ac vs 日 e6 97 a5
    const m = new GrammarMatcher('root ::= .+');
    expect(m.firstRejected([0xc0, 0x80])).toBe(0); // overlong lead
    expect(m.firstRejected([0xe0, 0x80])).toBe(1); // overlong 3-byte
    expect(m.firstRejected([0xed, 0xa0])).toBe(1); // surrogate
    expect(m.firstRejected([0xf4, 0x90])).toBe(1); // beyond U+10FFFF
    expect(m.firstRejected([0x80])).toBe(0); // stray continuation
    expect(m.firstRejected([0xc3, 0x41])).toBe(1); // missing continuation
    expect(m.firstRejected([0xf0, 0x9f, 0x98, 0x80, 0x41])).toBe(-1);
    expect(m.acceptBytes([0xe6, 0x97])).toBe(true);
    expect(m.canEnd).toBe(false);
    expect(m.accept(0xa5)).toBe(true);
    expect(m.canEnd).toBe(true);
  });

  it('filters stacks by the code points a partial character can still become', () => {
    const m = new GrammarMatcher('root ::= [\\u0100-\\u017F] "a" | [\\u4E00-\\u9FFF] "b"');
    expect(m.clone().firstRejected(utf8('Āa'))).toBe(-1);
    expect(m.clone().firstRejected(utf8('日b'))).toBe(-1);
    expect(m.clone().firstRejected(utf8('日a'))).toBe(3);
    expect(m.clone().firstRejected(utf8('é'))).toBe(0); // c3 can only start U+00C0..U+00FF
    expect(m.clone().firstRejected(utf8('가'))).toBe(0); // ea can only start U+A000..U+AFFF, outside both classes
    expect(m.clone().firstRejected(utf8('\u4000'))).toBe(1); // e4 80 80: e4 fits U+4000..U+4FFF, e4 80 only U+4000..U+403F
  });

  it('accept leaves the state unchanged on rejection; clones are independent', () => {
    const m = new GrammarMatcher('root ::= "ab" | "ac"');
    expect(m.accept(0x61)).toBe(true);
    const c = m.clone();
    expect(m.accept(0x78)).toBe(false);
    expect(m.accept(0x62)).toBe(true);
    expect(m.canEnd).toBe(true);
    expect(m.canContinue).toBe(false);
    expect(c.canEnd).toBe(false);
    expect(c.accept(0x63)).toBe(true);
    expect(c.acceptText('x')).toBe(false);
    expect(c.canEnd).toBe(true);
  });

  it('returns the same state object around loops (memoised successors)', () => {
    const m = new GrammarMatcher(JSON_GBNF);
    m.acceptText('{"key": "ab');
    const s = m.state;
    m.acceptText('cdé日');
    expect(m.state).toBe(s);
    expect(s.advance(0x78)).toBe(s);
  });

  it('fails with a GrammarError when the stack set explodes, instead of hanging', () => {
    // 2^k ways to split a run of a's: every prefix of length n has ~n distinct parse stacks per nesting level
    const ambiguous = 'root ::= x*\nx ::= "a" | "a" "a" y\ny ::= "a"* | "a"* "a"*';
    const nest = `root ::= ${Array.from({ length: 14 }, () => '("a" | "a" "a")*').join(' ')}`;
    for (const g of [ambiguous, nest]) {
      const m = new GrammarMatcher(g);
      const t0 = Date.now();
      let error: unknown;
      try {
        for (let i = 0; i < 200; i++) if (!m.accept(0x61)) break;
      } catch (e) {
        error = e;
      }
      expect(Date.now() - t0).toBeLessThan(20_000);
      if (error !== undefined) {
        expect(error).toBeInstanceOf(GrammarError);
        expect((error as Error).message).toMatch(/too ambiguous/);
      }
    }
    // each 'a' doubles the distinct stacks (a pending "b" or "c" per level): must hit the bound
    const m = new GrammarMatcher('root ::= x\nx ::= "a" x "b" | "a" x "c" |');
    expect(() => {
      for (let i = 0; i < 30; i++) m.accept(0x61);
    }).toThrow(/too ambiguous: more than 4096 parse stacks/);
  });
});

describe('GrammarMatcher state interning', () => {
  it('two different byte paths to the same grammar position give the same state object', () => {
    const cases: Array<[string, string, string]> = [
      ['root ::= ("a" | "bb" | "é") "c" [0-9]+', 'a', 'bb'],
      ['root ::= ("a" | "bb" | "é") "c" [0-9]+', 'é', 'a'],
      ['root ::= ("a" | "bb" | "é") "c" [0-9]+', 'ac1', 'éc987'],
      [jsonSchemaToGbnf({ type: 'object', properties: { a: { type: 'integer' }, b: { enum: ['x', 'yz'] } }, required: ['a', 'b'] }), '{"a":1,"b":"x"', '{"a":-20,"b":"yz"'],
      [JSON_GBNF, '{"k": [1, 2]', '{ "other": [true,{"x":null}, "日本"]'],
    ];
    for (const [grammar, p, q] of cases) {
      const m = new GrammarMatcher(grammar);
      const n = m.clone(); // one intern table: states of the same grammar object
      expect([m.acceptText(p), n.acceptText(q)]).toEqual([true, true]);
      expect([grammar, p, q, m.state === n.state]).toEqual([grammar, p, q, true]);
    }
    // and different positions are different states
    const m = new GrammarMatcher('root ::= ("a" | "bb") "c"');
    const n = m.clone();
    m.acceptText('a');
    n.acceptText('b');
    expect(m.state).not.toBe(n.state);
  });

  it('past MAX_INTERNED_STATES distinct states, matching still accepts and rejects correctly', () => {
    // every nesting depth is a distinct state: 2 × depth states in all
    const depth = Math.ceil(MAX_INTERNED_STATES * 0.6);
    const grammar = 'root ::= "(" root ")" | "x"';
    const m = new GrammarMatcher(grammar);
    const other = m.clone();
    const open = new Uint8Array(depth).fill(0x28);
    expect(m.acceptBytes(open)).toBe(true);
    expect([m.canEnd, m.canContinue]).toEqual([false, true]);
    expect(m.accept(0x29)).toBe(false); // ")" before "x"
    expect(m.accept(0x78)).toBe(true);
    expect(m.accept(0x78)).toBe(false); // a second "x"
    const close = new Uint8Array(depth).fill(0x29);
    // one ")" short: still open; the last one completes it; one more is rejected
    expect(m.firstRejected(close.subarray(1), true)).toBe(-1);
    expect([m.canEnd, m.canContinue]).toEqual([false, true]);
    expect(m.accept(0x29)).toBe(true);
    expect([m.canEnd, m.canContinue]).toEqual([true, false]);
    expect(m.accept(0x29)).toBe(false);
    // the same grammar object, its table now full: a second walk matches the same way
    const n = other.clone();
    expect(n.firstRejected(Uint8Array.from([...open, 0x78, ...close, 0x29]))).toBe(2 * depth + 1);
    expect(n.acceptBytes(Uint8Array.from([...open, 0x78, ...close]))).toBe(true);
    expect(n.canEnd).toBe(true);
    // a mismatch deep inside is found at its byte
    const bad = Uint8Array.from([...open, 0x78, ...close]);
    bad[depth + 10] = 0x28;
    expect(other.clone().firstRejected(bad)).toBe(depth + 10);
    // unrolled repetitions past the bound (~42000 positions, each a distinct state): still matched
    // exactly, to the last byte
    const r = new GrammarMatcher('root ::= (("a" | "b") ("a" | "b")){1,1000} ("c"{40}){0,1000} "!"');
    const ab = Uint8Array.from({ length: 2000 }, (_, i) => (i % 3 === 0 ? 0x62 : 0x61));
    expect(r.acceptBytes(ab)).toBe(true);
    expect(r.accept(0x61)).toBe(false); // a 1001st pair
    const cs = new Uint8Array(40 * Math.ceil(MAX_INTERNED_STATES / 40 + 2)).fill(0x63);
    expect(r.acceptBytes(cs)).toBe(true);
    expect([r.canEnd, r.accept(0x61), r.accept(0x21), r.canEnd, r.canContinue]).toEqual([false, false, true, true, false]);
  }, 60_000);
});
