import { ARITHMETIC_GBNF, JSON_GBNF, LIST_GBNF } from '../testing/exampleGrammars';
import { MAX_GBNF_REPETITION, parseGbnf } from './Gbnf';
import { InferenceError } from '../errors/InferenceError';
import { GrammarError } from './GrammarError';
import { GrammarMatcher } from './GrammarMatcher';

function matches(grammar: string, text: string): boolean {
  const m = new GrammarMatcher(grammar);
  return m.acceptText(text) && m.canEnd;
}

function parseError(text: string): GrammarError {
  try {
    parseGbnf(text);
  } catch (e) {
    expect(e).toBeInstanceOf(GrammarError);
    return e as GrammarError;
  }
  throw new Error(`expected a GrammarError for ${JSON.stringify(text)}`);
}

describe('parseGbnf', () => {
  it("parses llama.cpp's example grammars", () => {
    for (const g of [JSON_GBNF, ARITHMETIC_GBNF, LIST_GBNF]) {
      const grammar = parseGbnf(g);
      expect(grammar.ruleNames[grammar.root]).toBe('root');
    }
    expect(parseGbnf(JSON_GBNF).ruleNames).toEqual(expect.arrayContaining(['root', 'value', 'object', 'array', 'string', 'number', 'ws']));
  });

  it('handles literals, escapes, classes, any-char, groups and comments', () => {
    const g = String.raw`
      # a comment line
      root ::= "a\n\t\r\\\"\x41\u00e9\U0001F600" tail   # trailing comment
      tail ::= [a-c0-9_\-\]] [^x-z] . ( "p" | "q" )
    `;
    expect(matches(g, 'a\n\t\r\\"Aé😀_!Ωp')).toBe(true);
    expect(matches(g, 'a\n\t\r\\"Aé😀-7\nq')).toBe(true);
    expect(matches(g, 'a\n\t\r\\"Aé😀]y.q')).toBe(false);
    expect(matches(g, 'a\n\t\r\\"Aé😀]+.r')).toBe(false);
  });

  it('supports quantifiers * + ? {m} {m,} {,n} {m,n}', () => {
    const g = (q: string): string => `root ::= "x" ("ab")${q} "y"`;
    const cases: [string, (n: number) => boolean][] = [
      ['*', () => true],
      ['+', (n) => n >= 1],
      ['?', (n) => n <= 1],
      ['{2}', (n) => n === 2],
      ['{2,}', (n) => n >= 2],
      ['{,2}', (n) => n <= 2],
      ['{1,3}', (n) => n >= 1 && n <= 3],
      ['{ 1 , 3 }', (n) => n >= 1 && n <= 3],
      ['{0}', (n) => n === 0],
    ];
    for (const [q, ok] of cases) {
      for (let n = 0; n <= 8; n++) expect([q, n, matches(g(q), `x${'ab'.repeat(n)}y`)]).toEqual([q, n, ok(n)]);
    }
    // a quantifier after a literal repeats the whole literal
    expect(matches('root ::= [0-9]{3} "-" "ab"{2}', '123-abab')).toBe(true);
    expect(matches('root ::= [0-9]{3} "-" "ab"{2}', '123-abb')).toBe(false);
  });

  it('lets a rule continue on the next line inside groups and after |, and allows empty alternatives', () => {
    const g = 'root ::= "a" |\n  "b" | (\n "c"\n  "d" )\nopt ::= | "z"\n';
    expect(matches(g, 'a')).toBe(true);
    expect(matches(g, 'cd')).toBe(true);
    expect(matches('root ::= x\nx ::= | "z"', '')).toBe(true);
    expect(matches('root ::= x\nx ::= | "z"', 'z')).toBe(true);
  });

  it('accepts CRLF line endings, blank and comment lines, and names with digits, _ and -', () => {
    const g = '# header\r\n\r\nroot ::= item-2 my_rule # c\r\n  # more\r\nitem-2 ::= "x"\r\nmy_rule ::= [0-9]+\r\n';
    expect(matches(g, 'x42')).toBe(true);
    expect(matches(g, 'x')).toBe(false);
  });

  it('treats - at the edges of a class as a literal and ] after an escape', () => {
    expect(matches('root ::= [-+*/]+', '-+*/')).toBe(true);
    expect(matches('root ::= [a-]+', 'a-a')).toBe(true);
    expect(matches('root ::= [a-]+', 'b')).toBe(false);
    expect(matches(String.raw`root ::= [\]\\]+`, ']\\]')).toBe(true); // the class holds ] and \
  });

  it('reports syntax errors with position and message', () => {
    const cases: [string, RegExp, number, number][] = [
      ['root ::= "abc', /unterminated string literal/, 1, 10],
      ['root ::= [a-z', /unterminated character class/, 1, 10],
      ['root ::= ("a" | "b"', /expected '\)'/, 1, 10],
      ['root ::= "a")', /unexpected '\)'/, 1, 13],
      ['root = "a"', /expected '::=' after rule name 'root'/, 1, 6],
      ['root ::= "a"\n::= "b"', /expected a rule name/, 2, 1],
      ['root ::= *', /'\*' has nothing to repeat/, 1, 10],
      ['root ::= "a"**', /'\*' has nothing to repeat/, 1, 14],
      ['root ::= "\\q"', /unknown escape '\\q'/, 1, 11],
      ['root ::= "\\x4"', /expected 2 hex digits/, 1, 11],
      ['root ::= "\\U00110000"', /beyond U\+10FFFF/, 1, 11],
      ['root ::= [z-a]', /out of order/, 1, 11],
      ['root ::= "a"{3,1}', /max < min/, 1, 13],
      ['root ::= "a"{}', /expected a number/, 1, 14],
      ['root ::= "a"{2', /expected '}'/, 1, 15],
      ['root ::= "a" @', /unexpected '@'/, 1, 14],
      ['root ::= a b ::= "x"', /missing newline before the definition of 'b'/, 1, 12],
      ['root ::= x\nroot ::= "y"\nx ::= "x"', /rule 'root' is defined twice/, 2, 1],
    ];
    for (const [text, re, line, column] of cases) {
      const e = parseError(text);
      expect([text, e.message]).toEqual([text, expect.stringMatching(re)]);
      expect([text, e.position?.line, e.position?.column]).toEqual([text, line, column]);
      expect(e.type).toBe('invalid_config');
      expect(e).toBeInstanceOf(InferenceError);
    }
  });

  it('reports undefined rules at their first use and a missing root', () => {
    const e = parseError('root ::= "a" thing\n');
    expect(e.message).toMatch(/undefined rule 'thing'/);
    expect(e.position).toMatchObject({ line: 1, column: 14 });
    expect(parseError('start ::= "a"').message).toMatch(/no 'root' rule/);
    expect(parseError('').message).toMatch(/no 'root' rule/);
    expect(parseError('x ::= root\n').message).toMatch(/undefined rule 'root'/);
  });

  it('refuses a grammar that accepts no finite text, and drops alternatives that can never end', () => {
    expect(parseError('root ::= "a" root').message).toMatch(/accepts no finite text: rule 'root' can never end/);
    expect(parseError('root ::= x\nx ::= "(" x ")"').message).toMatch(/accepts no finite text/);
    expect(parseError('root ::= [^\\x00-\\U0010FFFF]').message).toMatch(/accepts no finite text/);
    // "a" x never ends (x loops forever): only the "a" "b" branch is kept, so "ac" is not a valid prefix
    const m = new GrammarMatcher(parseGbnf('root ::= "a" x | "a" "b"\nx ::= "c" x'));
    expect(m.acceptText('a')).toBe(true);
    expect(m.clone().acceptText('c')).toBe(false);
    expect(m.acceptText('b')).toBe(true);
    expect(m.canEnd).toBe(true);
  });

  it('rejects left recursion and huge repetitions', () => {
    expect(parseError('root ::= root "a" | "b"').message).toMatch(/left recursion is not supported: root -> root/);
    expect(parseError('root ::= x "a" | "b"\nx ::= y? root\ny ::= "y"').message).toMatch(/left recursion/);
    expect(parseError('root ::= "a"{100000}').message).toMatch(/exceeds the limit/);
    expect(parseError(`root ::= "a"{0,${MAX_GBNF_REPETITION + 1}}`).message).toMatch(/exceeds the limit/);
    // groups become rules, so nested repetitions add up instead of multiplying
    expect(parseGbnf('root ::= ("a"{1000}){1000}').kinds.length).toBeLessThan(10_000);
    expect(parseError(`root ::= ${'"a"{1000} '.repeat(250)}`).message).toMatch(/more than \d+ elements/);
    // right recursion is fine
    expect(matches('root ::= "a" root | "b"', 'aaab')).toBe(true);
  });
});
