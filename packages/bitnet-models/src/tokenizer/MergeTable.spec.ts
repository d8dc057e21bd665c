/**
 * The id-keyed merge table against the plain text-keyed BPE it replaces (llama.cpp's rules: ranks
 * keyed by "left right", first occurrence wins, the lowest rank merges first, leftmost on ties, and
 * a final symbol that is not a token falls back to its ASCII characters), on random small
 * vocabularies whose rules often name texts that are not tokens.
 */
import { GgufStringArray } from '../gguf/GgufStringArray';
import { SeededRandom } from '../synthetic/Random';
import { BpeTokenizer } from './BpeTokenizer';
import { preTokenizerConfig, type PreTokenizerConfig } from './PreTokenizer';
import { Vocabulary } from './Vocabulary';

const ALPHABET = ['a', 'b', 'c', '\u0120', '\u00c3'];

function referenceEncode(tokens: readonly string[], merges: readonly string[], word: string, ignoreMerges: boolean): number[] {
  const ids = new Map(tokens.map((t, i) => [t, i]));
  const ranks = new Map<string, number>();
  merges.forEach((rule, i) => {
    const key = rule.indexOf(' ', 1) < 0 ? ' ' : rule;
    if (!ranks.has(key)) ranks.set(key, i);
  });
  if (ignoreMerges && ids.has(word)) return [ids.get(word) as number];
  const syms = [...word];
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < syms.length; i++) {
      const rank = ranks.get(syms[i] + ' ' + syms[i + 1]);
      if (rank !== undefined && rank < bestRank) {
        best = i;
        bestRank = rank;
      }
    }
    if (best < 0) break;
    syms.splice(best, 2, syms[best] + syms[best + 1]);
  }
  const out: number[] = [];
  for (const s of syms) {
    const id = ids.get(s);
    if (id !== undefined) out.push(id);
    else for (const ch of s) if (ch.charCodeAt(0) < 0x80 && ids.has(ch)) out.push(ids.get(ch) as number);
  }
  return out;
}

describe('MergeTable (through BpeTokenizer)', () => {
  it('gives the text-keyed BPE ids on random vocabularies with inconsistent rules', () => {
    const rnd = new SeededRandom(16);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd.next() * xs.length)];
    const str = (min: number, max: number): string => {
      let s = '';
      const n = min + Math.floor(rnd.next() * (max - min + 1));
      for (let i = 0; i < n; i++) s += pick(ALPHABET);
      return s;
    };
    let checked = 0;
    for (let trial = 0; trial < 60; trial++) {
      const tokens = [...new Set([...ALPHABET.filter(() => rnd.next() < 0.8), ...Array.from({ length: 25 }, () => str(2, 4))])];
      const merges = Array.from({ length: 40 }, () => {
        const r = rnd.next();
        if (r < 0.05) return str(1, 3); // no space: unreachable
        if (r < 0.1) return `${str(1, 2)} ${str(1, 2)} ${str(1, 2)}`; // two spaces: unreachable
        if (r < 0.13) return ` ${str(1, 2)} ${str(1, 2)}`;
        if (r < 0.16) return `${str(1, 2)} `;
        return `${str(1, 2)} ${str(1, 2)}`;
      });
      for (const [name, packed] of [['gpt-2', false], ['llama-bpe', false], ['llama-bpe', true]] as const) {
        // packed: the lists as a GGUF file holds them, read as UTF-16 units without JS strings
        const data = packed ? { model: 'gpt2' as const, tokens: GgufStringArray.fromStrings(tokens) } : { model: 'gpt2' as const, tokens, merges };
        const config = preTokenizerConfig(name) as PreTokenizerConfig;
        const tok = new BpeTokenizer(new Vocabulary(data, { byteLevel: true, addBosDefault: false }), packed ? GgufStringArray.fromStrings(merges) : merges, config);
        const encodeWord = (tok as unknown as { encodeWord(w: string): number[] }).encodeWord.bind(tok);
        for (let w = 0; w < 30; w++) {
          const word = str(1, 9) + (rnd.next() < 0.1 ? 'd' : '');
          expect({ word, ids: encodeWord(word) }).toEqual({ word, ids: referenceEncode(tokens, merges, word, config.ignoreMerges) });
          checked++;
        }
      }
    }
    expect(checked).toBe(5400);
  });
});
