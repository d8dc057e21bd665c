import { llama3Metadata } from '../testing/llama3Vocab';
import { spmMetadata } from '../testing/spmVocab';
import { tokenizerCorpus } from '../testing/tokenizerCorpus';
import { byteToChar } from './ByteLevel';
import { createTokenizer } from './createTokenizer';
import type { Tokenizer } from './Tokenizer';

/** A chunk must never start or end inside a surrogate pair (i.e. hold half a code point). */
function expectWholeCodePoints(chunk: string): void {
  expect(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(chunk)).toBe(false);
}

function streamAll(tok: Tokenizer, ids: readonly number[], skipSpecial = false): string[] {
  const stream = tok.createStreamDecoder({ skipSpecial });
  const chunks = ids.map((id) => stream.push(id));
  chunks.push(stream.flush());
  return chunks;
}

describe('StreamDecoder', () => {
  let llama3: Tokenizer;
  beforeAll(() => {
    llama3 = createTokenizer(llama3Metadata({ pre: 'llama-bpe' }));
  });

  it('streams every corpus string one id at a time: whole code points, same text as decode', () => {
    let heldBack = 0;
    for (const s of tokenizerCorpus()) {
      for (const parseSpecial of [false, true]) {
        const ids = llama3.encode(s, { parseSpecial });
        for (const skipSpecial of [false, true]) {
          const chunks = streamAll(llama3, ids, skipSpecial);
          chunks.forEach(expectWholeCodePoints);
          expect({ s, text: chunks.join('') }).toEqual({ s, text: llama3.decode(ids, { skipSpecial }) });
          chunks.slice(0, -1).forEach((c, i) => {
            if (c === '' && llama3.tokenBytes(ids[i]).length > 0) heldBack++;
          });
        }
      }
    }
    // the corpus does split characters across tokens (emoji, CJK, ...)
    expect(heldBack).toBeGreaterThan(100);
  });

  it('holds back an unfinished character until the token that completes it', () => {
    const ids = llama3.encode('🙂', { addBos: false });
    expect(ids.length).toBeGreaterThan(1);
    const stream = llama3.createStreamDecoder();
    const out = ids.map((id) => stream.push(id));
    expect(out.slice(0, -1).every((c) => c === '')).toBe(true);
    expect(out[out.length - 1]).toBe('🙂');
    expect(stream.flush()).toBe('');
  });

  it('emits invalid bytes as U+FFFD, and an unfinished sequence only at flush', () => {
    const lead4 = llama3.tokenId(byteToChar(0xf0)) as number; // starts a 4-byte sequence
    const cont = llama3.tokenId(byteToChar(0x9f)) as number; // a continuation byte that may follow 0xF0
    const a = llama3.tokenId('a') as number;
    const stream = llama3.createStreamDecoder();
    expect(stream.push(lead4)).toBe('');
    expect(stream.push(cont)).toBe('');
    expect(stream.flush()).toBe('\ufffd');
    const ids = [cont, a, lead4, a, lead4];
    const chunks = streamAll(llama3, ids);
    expect(chunks.join('')).toBe(llama3.decode(ids));
    expect(chunks).toEqual(['\ufffd', 'a', '', '\ufffda', '', '\ufffd']);
  });

  it('matches decode for random id sequences (invalid UTF-8 included)', () => {
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let n = 0; n < 300; n++) {
      const ids = Array.from({ length: 1 + Math.floor(rnd() * 12) }, () => (rnd() < 0.5 ? Math.floor(rnd() * 256) : Math.floor(rnd() * 128256)));
      for (const skipSpecial of [false, true]) {
        const chunks = streamAll(llama3, ids, skipSpecial);
        chunks.forEach(expectWholeCodePoints);
        expect(chunks.join('')).toBe(llama3.decode(ids, { skipSpecial }));
      }
    }
  });

  it('skips special tokens when asked and can be reused after flush', () => {
    const ids = llama3.encode('Hi<|eot_id|>', { parseSpecial: true });
    expect(streamAll(llama3, ids).join('')).toBe('<|begin_of_text|>Hi<|eot_id|>');
    const stream = llama3.createStreamDecoder({ skipSpecial: true });
    expect(ids.map((id) => stream.push(id)).join('') + stream.flush()).toBe('Hi');
    expect(ids.map((id) => stream.push(id)).join('') + stream.flush()).toBe('Hi');
  });

  it('drops the SentencePiece prefix space of the first token, like decode', () => {
    const spm = createTokenizer(spmMetadata());
    const ids = spm.encode('hello world 日本', { addBos: false });
    const chunks = streamAll(spm, ids);
    expect(chunks[0]).toBe('hello');
    expect(chunks.join('')).toBe('hello world 日本');
    expect(chunks.join('')).toBe(spm.decode(ids));
  });

  it('pending follows characters across tokens: complete, unfinished, broken by a bad byte', () => {
    const stream = llama3.createStreamDecoder();
    const pending = (bytes: number[]) => {
      for (const b of bytes) stream.push(llama3.tokenId(byteToChar(b)) as number);
      return stream.pending;
    };
    expect(pending([0x41])).toBe(false);
    expect(pending([0xe2])).toBe(true);
    expect(pending([0x82])).toBe(true);
    expect(pending([0xac])).toBe(false); // € done
    expect(pending([0xf0, 0x9f, 0x99])).toBe(true);
    expect(pending([0x82])).toBe(false); // 🙂 done
    expect(pending([0xe0, 0x80])).toBe(false); // 0x80 cannot follow 0xE0: U+FFFD at once, nothing held
    expect(pending([0xc3, 0xc3])).toBe(true); // the second lead byte begins a character of its own
    expect(stream.flush()).toBe('\ufffd');
    expect(stream.pending).toBe(false);
  });

  it('pending: true exactly while an unfinished character is held (what flush would turn into U+FFFD)', () => {
    const byteId = (b: number) => llama3.tokenId(byteToChar(b)) as number;
    // bytes near the UTF-8 boundaries: ASCII, continuation bytes, every kind of lead byte, invalid leads
    const interesting = [0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff];
    let seed = 99;
    const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    let seenPending = 0;
    for (let trial = 0; trial < 400; trial++) {
      const bytes = Array.from({ length: 1 + Math.floor(next() * 8) }, () => interesting[Math.floor(next() * interesting.length)]);
      const stream = llama3.createStreamDecoder();
      bytes.forEach((b, i) => {
        stream.push(byteId(b));
        // an independent check: a fresh decoder fed the same prefix, flushed, ends in U+FFFD only if bytes were held
        const probe = llama3.createStreamDecoder();
        const streamed = bytes.slice(0, i + 1).map((x) => probe.push(byteId(x))).join('');
        const tail = probe.flush();
        expect({ bytes: bytes.slice(0, i + 1), pending: stream.pending }).toEqual({ bytes: bytes.slice(0, i + 1), pending: tail !== '' });
        expect(streamed + tail).toBe(new TextDecoder().decode(Uint8Array.from(bytes.slice(0, i + 1))));
        if (stream.pending) seenPending++;
      });
      stream.flush();
      expect(stream.pending).toBe(false);
    }
    expect(seenPending).toBeGreaterThan(100);
  });

  it('rejects ids outside the vocabulary', () => {
    expect(() => llama3.createStreamDecoder().push(128256)).toThrow(/out of range/);
    expect(() => llama3.decode([-1])).toThrow(/out of range/);
  });
});
