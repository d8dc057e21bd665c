import { TokenizerError } from '../errors';
import { GgufMetadata, gguf } from '../gguf/GgufMetadata';
import { llamaCppGolden } from '../testing/llamaCppGolden';
import { spmMetadata } from '../testing/spmVocab';
import { createTokenizer } from './createTokenizer';

// Ids of the fixture vocabulary (testing/spmVocab.ts): byte token <0xNN> is 3 + NN.
const UNK = 0, BOS = 1, EOS = 2;
const byte = (b: number) => 3 + b;
const SP = 259, A = 260, B = 261, C = 262, AB = 263, ABC = 265, SP_A = 266, SP_AB = 267;
const HELLO = 275, SP_HELLO = 276, W = 277, OR = 280, LD = 283, SP_WORLD = 284, E_ACUTE = 285, SP_SP = 286;
const H = 268, LLO = 274, USER = 287, CTRL = 288;

describe('SentencePiece tokenizer (hand-made vocabulary)', () => {
  const tok = createTokenizer(spmMetadata());
  const noPrefix = createTokenizer(spmMetadata({ addSpacePrefix: false }));

  it('merges the highest-scoring pair first, leftmost on ties', () => {
    expect(tok.model).toBe('llama');
    // "▁abc": "ab" and "bc" tie at -3, the left one wins; then "abc" (-4); "▁abc" is not a token
    expect(tok.encode('abc', { addBos: false })).toEqual([SP, ABC]);
    // "▁a" (-5) loses to "ab" (-3), then "▁ab" (-6) is the only pair left on that side
    expect(tok.encode('ab c', { addBos: false })).toEqual([SP_AB, SP, C]);
    // "ll" (-1.5) before "he" (-3): h e ll o -> he ll o -> he llo -> hello -> ▁hello
    expect(tok.encode('hello world', { addBos: false })).toEqual([SP_HELLO, SP_WORLD]);
    expect(tok.encode('hellow', { addBos: false })).toEqual([SP_HELLO, W]);
    expect(tok.encode('a', { addBos: false })).toEqual([SP_A]);
  });

  it('falls back to byte tokens for pieces outside the vocabulary', () => {
    expect(tok.encode('x', { addBos: false })).toEqual([SP, byte(0x78)]);
    expect(tok.encode('héllo', { addBos: false })).toEqual([SP, H, E_ACUTE, LLO]);
    expect(tok.encode('日', { addBos: false })).toEqual([SP, byte(0xe6), byte(0x97), byte(0xa5)]);
    // a lone surrogate is U+FFFD (EF BF BD) by the time it reaches the tokenizer
    expect(tok.encode('\ud800', { addBos: false })).toEqual([SP, byte(0xef), byte(0xbf), byte(0xbd)]);
  });

  it('escapes spaces as ▁ and adds the space prefix only when asked', () => {
    expect(tok.encode('hello  world', { addBos: false })).toEqual([SP_HELLO, SP_SP, W, OR, LD]);
    expect(tok.encode(' hello', { addBos: false })).toEqual([SP_SP, HELLO]);
    expect(noPrefix.encode('abc', { addBos: false })).toEqual([ABC]);
    expect(noPrefix.encode('hello world', { addBos: false })).toEqual([HELLO, SP_WORLD]);
    expect(noPrefix.encode('a\nb', { addBos: false })).toEqual([A, byte(0x0a), B]);
  });

  it('adds BOS by default (llama.cpp default for SentencePiece)', () => {
    expect(tok.addBos).toBe(true);
    expect(tok.encode('a')).toEqual([BOS, SP_A]);
    expect(tok.encode('')).toEqual([BOS]);
    expect(tok.encode('a', { addEos: true })).toEqual([BOS, SP_A, EOS]);
    expect(createTokenizer(spmMetadata({ addBos: false })).encode('a')).toEqual([SP_A]);
  });

  it('always matches user-defined tokens, control tokens only with parseSpecial, and re-adds the space prefix after them', () => {
    expect(tok.encode('hello<|user|>world', { addBos: false })).toEqual([SP_HELLO, USER, SP_WORLD]);
    expect(tok.encode('[CTRL]hello', { addBos: false, parseSpecial: true })).toEqual([CTRL, SP_HELLO]);
    expect(tok.encode('[CTRL]hello', { addBos: false })).not.toContain(CTRL);
    expect(tok.encode('<s>a</s><unk>', { addBos: false, parseSpecial: true })).toEqual([BOS, SP_A, EOS, UNK]);
    expect(tok.isSpecial(USER) && tok.isSpecial(CTRL) && tok.isSpecial(UNK)).toBe(true);
    expect(tok.isSpecial(byte(0x41))).toBe(false);
  });

  it('decodes like llama_detokenize: byte tokens to bytes, first leading space dropped', () => {
    expect(tok.decode([SP_HELLO, SP_WORLD])).toBe('hello world');
    expect(tok.decode([SP, byte(0xe6), byte(0x97), byte(0xa5)])).toBe('日');
    expect(tok.decode([SP_HELLO, USER, SP_WORLD])).toBe('hello<|user|> world');
    // BOS first: the space rule applies to BOS's (empty or "<s>") piece, so " hello" keeps its space
    expect(tok.decode([BOS, SP_HELLO])).toBe('<s> hello');
    expect(tok.decode([BOS, SP_HELLO], { skipSpecial: true })).toBe(' hello');
    expect(Array.from(tok.tokenBytes(byte(0xff)))).toEqual([0xff]);
    expect(Buffer.from(tok.tokenBytes(SP_WORLD)).toString()).toBe(' world');
    expect(tok.decode(tok.encode('hello world x 日本 🙂', { addBos: false }))).toBe('hello world x 日本 🙂');
    // with BOS in front llama.cpp keeps the prefix space (see above)
    expect(tok.decode(tok.encode('hello'), { skipSpecial: true })).toBe(' hello');
  });

  it('matches llama.cpp on the recorded samples', () => {
    const g = llamaCppGolden().spm;
    g.texts.forEach((s, i) => {
      expect({ s, ids: tok.encode(s, { addBos: false }) }).toEqual({ s, ids: g.ids[i] });
      expect({ s, ids: tok.encode(s, { addBos: false, parseSpecial: true }) }).toEqual({ s, ids: g.idsParseSpecial[i] });
      expect({ s, ids: noPrefix.encode(s, { addBos: false }) }).toEqual({ s, ids: g.idsNoPrefix[i] });
      expect([tok.decode(g.ids[i]), tok.decode(g.ids[i], { skipSpecial: true })]).toEqual(g.detokenized[i]);
    });
  });

  it('fails like llama.cpp when a byte has no fallback token', () => {
    const md = new GgufMetadata();
    md.set('tokenizer.ggml.model', gguf.str('llama'));
    md.set('tokenizer.ggml.tokens', gguf.strings(['<unk>', '<s>', '</s>', '▁', 'a']));
    md.set('tokenizer.ggml.scores', gguf.f32s([0, 0, 0, -1, -1]));
    md.set('tokenizer.ggml.token_type', gguf.i32s([2, 3, 3, 1, 1]));
    const tiny = createTokenizer(md);
    expect(tiny.encode('a a', { addBos: false })).toEqual([3, 4, 3, 4]);
    expect(() => tiny.encode('b')).toThrow(TokenizerError);
    expect(() => tiny.encode('b')).toThrow(/byte 0x62/);
  });
});
