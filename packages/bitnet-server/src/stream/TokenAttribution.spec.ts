import * as fs from 'node:fs';
import { StreamBuffer, type StreamResponse } from '@bitnet/inference';
import { GgufFile, type Tokenizer, createTokenizer } from '@bitnet/models';
import { writeTinyModel } from '../testing/harness';
import { TokenAttribution, Utf8Tail } from './TokenAttribution';

let tokenizer: Tokenizer;
let dir: string;
beforeAll(() => {
  const m = writeTinyModel();
  dir = m.dir;
  const f = GgufFile.open(m.modelPath);
  tokenizer = createTokenizer(f.metadata);
  f.close();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Deterministic pseudo-random numbers. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('TokenAttribution', () => {
  it('one piece per id; pieces concatenate to the responses, for random bytes, buffer sizes and stop strings', () => {
    const r = rng(7);
    for (let trial = 0; trial < 300; trial++) {
      // mostly byte tokens (multi-byte characters, invalid sequences), some merges and specials
      const ids = Array.from({ length: 1 + Math.floor(r() * 40) }, () => Math.floor(r() * tokenizer.vocabSize));
      const full = tokenizer.decode(ids, { skipSpecial: true });
      const stop = trial % 3 === 0 && full.length > 6 ? [full.slice(3, 5)] : [];
      const responses: StreamResponse[] = [];
      const buffer = new StreamBuffer({ tokenizer, streaming: { bufferSize: 1 + Math.floor(r() * 4), flushIntervalMs: 60_000 }, stopSequences: stop, onResponse: (x) => responses.push(x) });
      for (const id of ids) if (buffer.closed || !buffer.push(id)) break;
      buffer.finish('max_tokens');
      const a = new TokenAttribution(tokenizer, true);
      const pieces = responses.flatMap((x) => a.push(x));
      expect(pieces.map((p) => p.id)).toEqual(responses.flatMap((x) => x.tokenIds));
      expect(pieces.map((p) => p.text).join('')).toBe(responses.map((x) => x.text).join(''));
      expect(a.orphanText).toBe('');
    }
  });

  it('Utf8Tail knows when the bytes end inside a character', () => {
    const t = new Utf8Tail();
    const pending = (bytes: number[]) => (t.push(Uint8Array.from(bytes)), t.pending);
    expect(pending([0x41])).toBe(false);
    expect(pending([0xe2])).toBe(true);
    expect(pending([0x82])).toBe(true);
    expect(pending([0xac])).toBe(false); // € complete
    expect(pending([0xf0, 0x9f, 0x99])).toBe(true);
    expect(pending([0x82])).toBe(false); // 🙂 complete
    expect(pending([0xe0, 0x80])).toBe(false); // invalid second byte: U+FFFD at once, nothing pending
    expect(pending([0xc3, 0xc3])).toBe(true); // the second lead byte starts a new character
  });
});
