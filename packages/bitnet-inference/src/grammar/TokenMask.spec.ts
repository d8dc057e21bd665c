import { createTokenizer } from '@bitnet/models';
import { llama3Metadata, rng } from '@bitnet/models/testing';
import * as os from 'node:os';
import { ARITHMETIC_GBNF, JSON_GBNF, LIST_GBNF } from '../testing/exampleGrammars';
import { parseGbnf } from './Gbnf';
import type { Grammar } from './Grammar';
import { GrammarMatcher, GrammarState } from './GrammarMatcher';
import { TokenMask } from './TokenMask';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The mask by definition: feed each token's bytes to the state. */
function bruteForce(tokens: readonly (Uint8Array | null)[], eog: readonly number[], state: GrammarState): Uint8Array {
  const out = new Uint8Array(tokens.length);
  tokens.forEach((b, id) => {
    if (!b || b.length === 0) {
      out[id] = eog.includes(id) && state.canEnd ? 1 : 0;
      return;
    }
    let s: GrammarState | null = state;
    for (let i = 0; i < b.length && s; i++) s = s.advance(b[i]);
    out[id] = s ? 1 : 0;
  });
  return out;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** Random walk: tokens picked uniformly from the mask; after `steps`, prefer tokens in `closers`. */
function randomWalk(
  mask: TokenMask,
  tokens: readonly (Uint8Array | null)[],
  grammar: Grammar,
  seed: number,
  steps: number,
  closers: readonly number[],
  check?: (state: GrammarState) => void,
): { bytes: number[]; ended: boolean } {
  const random = rng(seed);
  const m = new GrammarMatcher(grammar);
  const bytes: number[] = [];
  for (let step = 0; step < steps * 4; step++) {
    check?.(m.state);
    const { allowed, endAllowed } = mask.compute(m.state);
    if (endAllowed && (step >= steps || random() < 0.05)) return { bytes, ended: true };
    const ids: number[] = [];
    for (let id = 0; id < allowed.length; id++) if (allowed[id] && tokens[id]) ids.push(id);
    if (ids.length === 0) return { bytes, ended: endAllowed };
    const preferred = step >= steps ? closers.filter((id) => allowed[id]) : [];
    const pick = preferred.length > 0 && random() < 0.8 ? preferred[0] : ids[Math.floor(random() * ids.length)];
    const b = tokens[pick] as Uint8Array;
    expect(m.acceptBytes(b)).toBe(true);
    bytes.push(...b);
  }
  return { bytes, ended: false };
}

describe('TokenMask on a synthetic vocabulary', () => {
  // all single bytes, multi-byte pieces (some splitting UTF-8 characters), duplicates, specials
  const pieces = ['{"', '":', '", "', '"}', 'true', 'tru', 'null', ' "', '\n  ', '\n', '日本', '日', 'é', '12', '0.', 'e+', '[1', ', ', 'ab', 'abc', '\\u00', 'a\u2028', '- ', 'x1', ' = ', '+(', ')\n'];
  const tokens: (Uint8Array | null)[] = [null, null]; // 0 = BOS-like control token, 1 = EOS
  for (let b = 0; b < 256; b++) tokens.push(Uint8Array.of(b));
  for (const p of pieces) tokens.push(utf8(p));
  tokens.push(Uint8Array.of(0xe6, 0x97), Uint8Array.of(0xa5, 0x22), Uint8Array.of(0xa9), utf8('tru'), Uint8Array.of(0xc3, 0xa9, 0x22, 0x7d));
  const eog = [1];
  const mask = new TokenMask(tokens, eog);
  const uncached = new TokenMask(tokens, eog, { cacheSize: 0 });
  const ids = (list: string[]): number[] => list.map((s) => tokens.findIndex((t) => t !== null && Buffer.from(t).equals(utf8(s))));

  it('builds a trie with one node per distinct prefix', () => {
    expect(mask.vocabSize).toBe(tokens.length);
    const prefixes = new Set<string>();
    for (const t of tokens) if (t) for (let i = 1; i <= t.length; i++) prefixes.add(Buffer.from(t.subarray(0, i)).toString('hex'));
    expect(mask.nodeCount).toBe(prefixes.size);
  });

  for (const [name, text, closing] of [
    ['json', JSON_GBNF, ['"', '}', ']', '0', ':']],
    ['arithmetic', ARITHMETIC_GBNF, [')', '=', '\n']],
    ['list', LIST_GBNF, ['\n', 'a']],
    ['multi-byte', 'root ::= "é" | "日本" | "日" [a-c]* "\\"}"', ['"']],
  ] as const) {
    const closers = ids([...closing]);
    it(`equals the brute-force mask on random states (${name})`, () => {
      const grammar = parseGbnf(text);
      let states = 0;
      let ended = 0;
      for (let seed = 1; seed <= 12; seed++) {
        const walk = randomWalk(mask, tokens, grammar, seed, 25, closers, (state) => {
          const got = mask.compute(state);
          const want = bruteForce(tokens, eog, state);
          expect([name, seed, firstDifference(got.allowed, want)]).toEqual([name, seed, -1]);
          expect([name, seed, firstDifference(uncached.compute(state).allowed, want)]).toEqual([name, seed, -1]);
          expect(got.count).toBe(want.reduce((a, b) => a + b, 0));
          expect(got.endAllowed).toBe(state.canEnd);
          expect(got.allowed[0]).toBe(0);
          states++;
        });
        // the text of the walk is a valid prefix (or a sentence, when it ended)
        const m = new GrammarMatcher(grammar);
        expect(m.acceptBytes(walk.bytes)).toBe(true);
        if (walk.ended) {
          ended++;
          expect(m.canEnd).toBe(true);
          if (name === 'json') expect(() => JSON.parse(Buffer.from(walk.bytes).toString('utf8'))).not.toThrow();
        }
      }
      expect(states).toBeGreaterThan(50);
      expect(ended).toBeGreaterThan(0);
    });
  }

  it('allows a token that ends inside a multi-byte character, and its continuation', () => {
    const m = new GrammarMatcher('root ::= "日本"');
    const first = mask.compute(m);
    const split = tokens.findIndex((t) => t?.length === 2 && t[0] === 0xe6 && t[1] === 0x97);
    expect(first.allowed[split]).toBe(1);
    expect(first.allowed[tokens.findIndex((t) => t && Buffer.from(t).toString() === '日本')]).toBe(1);
    expect(first.endAllowed).toBe(false);
    m.acceptBytes(tokens[split] as Uint8Array);
    const next = mask.compute(m);
    expect(next.count).toBe(1); // only the a5 byte: 本 must follow whole
    expect(next.allowed[2 + 0xa5]).toBe(1);
  });

  it('allows only end-of-generation when the grammar is complete', () => {
    const m = new GrammarMatcher('root ::= "ab"');
    m.acceptText('ab');
    const r = mask.compute(m, new Uint8Array(tokens.length).fill(1));
    expect(r.endAllowed).toBe(true);
    expect(r.count).toBe(1);
    expect(r.allowed[1]).toBe(1);
  });
});

describe('TokenMask on the LLaMA-3 vocabulary (128256 tokens)', () => {
  const tok = createTokenizer(llama3Metadata({ pre: 'llama-bpe' }));
  const tokens: (Uint8Array | null)[] = [];
  for (let id = 0; id < tok.vocabSize; id++) tokens.push(tok.isSpecial(id) ? null : tok.tokenBytes(id));
  let mask: TokenMask; // with the default state cache
  let uncached: TokenMask; // every call walks the trie
  const grammar = parseGbnf(JSON_GBNF);

  beforeAll(() => {
    const t0 = performance.now();
    mask = TokenMask.fromTokenizer(tok);
    console.log(`TokenMask build: ${(performance.now() - t0).toFixed(0)} ms, ${mask.nodeCount} trie nodes, ${tok.vocabSize} tokens`);
    uncached = new TokenMask(tokens, tok.endOfGenerationIds, { cacheSize: 0 });
  });

  it('matches brute force at several JSON states and reports the time per mask', () => {
    const prefixes = ['', '{', '{"', '{"ke', '{"key": ', '{"key": "va', '{"key": "日', '{"a": 12', '{"a": [1, ', '{"a": tr', '{"a": {"b": null}', '{"a": 1}'];
    const lines: string[] = [];
    for (const p of prefixes) {
      const m = new GrammarMatcher(grammar);
      expect(m.acceptText(p)).toBe(true);
      const t0 = performance.now();
      const cold = uncached.compute(m); // fresh state: successors not memoised yet
      const t1 = performance.now();
      const warm = uncached.compute(m); // same state again: successors memoised, trie walked again
      const t2 = performance.now();
      mask.compute(m);
      const t3 = performance.now();
      const cached = mask.compute(m); // the state's mask from the cache
      const t4 = performance.now();
      const want = bruteForce(tokens, tok.endOfGenerationIds, m.state);
      expect([p, firstDifference(cold.allowed, want)]).toEqual([p, -1]);
      expect([p, firstDifference(cached.allowed, want)]).toEqual([p, -1]);
      expect(warm.count).toBe(cold.count);
      const ms = (x: number, w: number): string => `${x.toFixed(2).padStart(w)} ms`;
      lines.push(`${JSON.stringify(p).padEnd(22)} allowed ${String(cold.count).padStart(6)}  visited ${String(cold.visited).padStart(6)}  cold ${ms(t1 - t0, 6)}  walk again ${ms(t2 - t1, 6)}  cached ${ms(t4 - t3, 5)}`);
    }
    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    console.log(`JSON grammar masks on LLaMA-3 (${cpu}):\n${lines.join('\n')}`);
  });

  it('random walks produce JSON that parses, and every mask equals brute force on a sample of tokens', () => {
    const closers = ['"', '}', ']', '0', ':'].map((s) => tok.tokenId(s) as number);
    const random = rng(99);
    const sample = Array.from({ length: 4000 }, () => Math.floor(random() * tokens.length));
    let ended = 0;
    let masks = 0;
    let total = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const walk = randomWalk(mask, tokens, grammar, seed, 30, closers, (state) => {
        const t0 = performance.now();
        const got = mask.compute(state); // as generation would call it: the cache is warm inside strings
        total += performance.now() - t0;
        masks++;
        for (const id of sample) {
          const b = tokens[id];
          let s: GrammarState | null = state;
          if (b) for (let i = 0; i < b.length && s; i++) s = s.advance(b[i]);
          const want = b ? (s ? 1 : 0) : tok.endOfGenerationIds.includes(id) && state.canEnd ? 1 : 0;
          if (got.allowed[id] !== want) throw new Error(`token ${id} (${JSON.stringify(tok.tokenText(id))}): mask ${got.allowed[id]}, brute force ${want}`);
        }
      });
      const text = Buffer.from(walk.bytes).toString('utf8');
      const m = new GrammarMatcher(grammar);
      expect(m.acceptBytes(walk.bytes)).toBe(true);
      if (walk.ended) {
        ended++;
        expect(m.canEnd).toBe(true);
        expect(() => JSON.parse(text)).not.toThrow();
      }
    }
    console.log(`random walks: ${masks} masks, mean ${(total / masks).toFixed(2)} ms per mask (one call per generated token, cache on), ${ended}/6 ended`);
    expect(ended).toBeGreaterThan(0);
  });
});
