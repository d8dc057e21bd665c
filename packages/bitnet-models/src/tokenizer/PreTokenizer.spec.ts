import { byteDecode, byteEncode, byteToChar, charToByte } from './ByteLevel';
import { preTokenize, preTokenizerConfig } from './PreTokenizer';
import {
  FLAG_CONTROL,
  FLAG_LETTER,
  FLAG_NUMBER,
  FLAG_PUNCTUATION,
  FLAG_SYMBOL,
  FLAG_UNDEFINED,
  FLAG_WHITESPACE,
  codePointFlags,
  toWellFormed,
} from './UnicodeFlags';

describe('pre-tokenizers', () => {
  it('llama3: case-insensitive contractions, digits by three, whitespace before a word kept apart', () => {
    expect(preTokenize("Hello world's 12345 test", 'llama3')).toEqual(['Hello', ' world', "'s", ' ', '123', '45', ' test']);
    expect(preTokenize("IT'S WE'LL i'Ve", 'llama3')).toEqual(['IT', "'S", ' WE', "'LL", ' i', "'Ve"]);
    expect(preTokenize('a  \n  b', 'llama3')).toEqual(['a', '  \n', ' ', ' b']);
    expect(preTokenize('...\n\nx', 'llama3')).toEqual(['...\n\n', 'x']);
    expect(preTokenize(' ?!x', 'llama3')).toEqual([' ?!', 'x']);
    expect(preTokenize('x   ', 'llama3')).toEqual(['x', '   ']);
    expect(preTokenize('\r\n\r\n', 'llama3')).toEqual(['\r\n\r\n']);
  });

  it('llama3: U+FEFF is not whitespace and U+0085 is, unlike JS RegExp \\s', () => {
    expect(preTokenize('x\ufeffy', 'llama3')).toEqual(['x', '\ufeffy']);
    expect(preTokenize('x \ufeff', 'llama3')).toEqual(['x', ' \ufeff']);
    expect(preTokenize('a\u0085\u0085b', 'llama3')).toEqual(['a', '\u0085', '\u0085b']);
    expect(preTokenize('a\u00a0\u00a0b', 'llama3')).toEqual(['a', '\u00a0', '\u00a0b']);
  });

  it('gpt2: case-sensitive contractions and unbounded digit runs', () => {
    expect(preTokenize("IT'S don't", 'gpt2')).toEqual(['IT', "'", 'S', ' don', "'t"]);
    expect(preTokenize(' 12345', 'gpt2')).toEqual([' 12345']);
    expect(preTokenize('a  b', 'gpt2')).toEqual(['a', ' ', ' b']);
  });

  it("llama.cpp 'default': punctuation runs first, then gpt2, then digit runs in threes", () => {
    expect(preTokenize("don't", 'default')).toEqual(['don', "'", 't']);
    expect(preTokenize(' 12345', 'default')).toEqual([' ', '123', '45']);
    expect(preTokenize('a+b=c', 'default')).toEqual(['a', '+', 'b', '=', 'c']);
    expect(preTokenize('x `y` z', 'default')).toEqual(['x', ' `', 'y', '`', ' z']);
    expect(preTokenize('hello!!! world', 'default')).toEqual(['hello', '!!!', ' world']);
    expect(preTokenize('read_file', 'default')).toEqual(['read', '_', 'file']);
    expect(preTokenize('١٢٣456', 'default')).toEqual(['١٢٣', '456']);
  });

  it('covers the input exactly', () => {
    const s = toWellFormed("Mixed: 'tis 1234 日本語 🙂🙂 \r\n\t x\u3000y \ud800");
    for (const kind of ['llama3', 'gpt2', 'default'] as const) expect(preTokenize(s, kind).join('')).toBe(s);
    expect(preTokenize('', 'llama3')).toEqual([]);
  });

  it("knows llama.cpp's pre-tokenizer names", () => {
    expect(preTokenizerConfig('llama-bpe')).toMatchObject({ kind: 'llama3', ignoreMerges: true, addBos: true });
    expect(preTokenizerConfig('llama3')?.kind).toBe('llama3');
    expect(preTokenizerConfig('dbrx')).toMatchObject({ kind: 'llama3', ignoreMerges: false });
    expect(preTokenizerConfig('gpt-2')?.kind).toBe('gpt2');
    expect(preTokenizerConfig('default')?.kind).toBe('default');
    expect(preTokenizerConfig('qwen2')).toBeUndefined();
  });
});

describe("llama.cpp's Unicode classes", () => {
  it('classifies like its Unicode 15.1 tables', () => {
    expect(codePointFlags(0x61)).toBe(FLAG_LETTER);
    expect(codePointFlags(0x663)).toBe(FLAG_NUMBER); // ٣
    expect(codePointFlags(0x2162)).toBe(FLAG_NUMBER); // Ⅲ (Nl)
    expect(codePointFlags(0x2c)).toBe(FLAG_PUNCTUATION);
    expect(codePointFlags(0x60)).toBe(FLAG_SYMBOL); // backtick
    expect(codePointFlags(0x20) & FLAG_WHITESPACE).toBeTruthy();
    expect(codePointFlags(0x85)).toBe(FLAG_CONTROL | FLAG_WHITESPACE);
    expect(codePointFlags(0xfeff)).toBe(FLAG_CONTROL); // format character, not whitespace
    expect(codePointFlags(0x200b)).toBe(FLAG_CONTROL);
    expect(codePointFlags(0xe000)).toBe(FLAG_CONTROL); // private use
    expect(codePointFlags(0x378)).toBe(FLAG_UNDEFINED);
    expect(codePointFlags(0x1c89)).toBe(FLAG_UNDEFINED); // assigned in Unicode 16
    expect(codePointFlags(0x1e5f1)).toBe(FLAG_UNDEFINED); // a Unicode 16 digit
    expect(codePointFlags(0x2ebf0)).toBe(FLAG_LETTER); // Unicode 15.1 CJK extension I
    expect(codePointFlags(0x31ef)).toBe(FLAG_SYMBOL); // Unicode 15.1
    expect(codePointFlags(0x110000)).toBe(FLAG_UNDEFINED);
  });
});

describe('GPT-2 byte mapping', () => {
  it('maps all 256 bytes to distinct characters and back', () => {
    const chars = new Set<string>();
    for (let b = 0; b < 256; b++) {
      const ch = byteToChar(b);
      chars.add(ch);
      expect(charToByte(ch.charCodeAt(0))).toBe(b);
    }
    expect(chars.size).toBe(256);
    expect(byteToChar(0x20)).toBe('Ġ');
    expect(byteToChar(0x0a)).toBe('Ċ');
    expect(byteToChar(0x41)).toBe('A');
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(Array.from(byteDecode(Array.from(all, byteToChar).join('')))).toEqual(Array.from(all));
    expect(byteEncode(' héllo\n')).toBe('ĠhÃ©lloĊ');
  });

  it("renders characters outside the mapping with llama.cpp's [UNK_BYTE_...] marker", () => {
    expect(Buffer.from(byteDecode('a\u4e00')).toString()).toBe('a[UNK_BYTE_0xe4b880a\u4e00]');
  });
});
