import { TokenizerError } from '../errors';
import { GgufMetadata, gguf } from '../gguf/GgufMetadata';
import type { GgufValue } from '../gguf/GgufTypes';
import { createTokenizer } from './createTokenizer';
import { tokenizerDataFromMetadata } from './TokenizerData';

/** A tiny byte-level BPE vocabulary: "a", "b", "ab", "Ġ", "Ġab", then two control tokens. */
function tinyBpe(overrides: Record<string, GgufValue | undefined> = {}): GgufMetadata {
  const entries: Record<string, GgufValue | undefined> = {
    'tokenizer.ggml.model': gguf.str('gpt2'),
    'tokenizer.ggml.pre': gguf.str('llama-bpe'),
    'tokenizer.ggml.tokens': gguf.strings(['a', 'b', 'ab', 'Ġ', 'Ġab', '<|bos|>', '<|eot_id|>']),
    'tokenizer.ggml.token_type': gguf.i32s([1, 1, 1, 1, 1, 3, 1]),
    'tokenizer.ggml.merges': gguf.strings(['a b', 'Ġ ab']),
    'tokenizer.ggml.bos_token_id': gguf.u32(5),
    'tokenizer.ggml.eos_token_id': gguf.u32(6),
    ...overrides,
  };
  const md = new GgufMetadata();
  for (const [k, v] of Object.entries(entries)) if (v !== undefined) md.set(k, v);
  return md;
}

function expectError(md: GgufMetadata, pattern: RegExp): void {
  let caught: unknown;
  try {
    createTokenizer(md);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(TokenizerError);
  expect((caught as TokenizerError).code).toBe('BAD_TOKENIZER');
  expect((caught as Error).message).toMatch(pattern);
}

describe('tokenizer metadata', () => {
  it('reads a valid vocabulary', () => {
    const data = tokenizerDataFromMetadata(tinyBpe());
    expect(data.model).toBe('gpt2');
    expect(data.tokens).toHaveLength(7);
    expect(data.bosId).toBe(5);
    const tok = createTokenizer(tinyBpe());
    expect(tok.encode('ab ab', { addBos: false })).toEqual([2, 4]);
    expect(tok.encode('ab', { addBos: true })).toEqual([5, 2]);
    // "<|eot_id|>" is promoted to a control end-of-generation token by its text, as in llama.cpp
    expect(tok.eotId).toBe(6);
    expect(tok.isSpecial(6)).toBe(true);
    expect(tok.isEndOfGeneration(6)).toBe(true);
    expect(tok.isEndOfGeneration(5)).toBe(false);
  });

  it.each([
    ['missing model', { 'tokenizer.ggml.model': undefined }, /'tokenizer\.ggml\.model' is missing/],
    ['unsupported model', { 'tokenizer.ggml.model': gguf.str('bert') }, /'tokenizer\.ggml\.model' = 'bert' is not supported/],
    ['model of the wrong type', { 'tokenizer.ggml.model': gguf.u32(2) }, /'tokenizer\.ggml\.model'.*must be a string/],
    ['missing tokens', { 'tokenizer.ggml.tokens': undefined }, /'tokenizer\.ggml\.tokens' is missing/],
    ['empty tokens', { 'tokenizer.ggml.tokens': gguf.strings([]) }, /'tokenizer\.ggml\.tokens' is empty/],
    ['tokens of the wrong type', { 'tokenizer.ggml.tokens': gguf.i32s([1, 2]) }, /'tokenizer\.ggml\.tokens'.*array of strings/],
    ['token types of another length', { 'tokenizer.ggml.token_type': gguf.i32s([1, 1]) }, /'tokenizer\.ggml\.token_type' has 2 entries but 'tokenizer\.ggml\.tokens' has 7/],
    ['scores of another length', { 'tokenizer.ggml.scores': gguf.f32s([0]) }, /'tokenizer\.ggml\.scores' has 1 entries/],
    ['missing merges', { 'tokenizer.ggml.merges': undefined }, /'tokenizer\.ggml\.merges' is missing/],
    ['BOS out of range', { 'tokenizer.ggml.bos_token_id': gguf.u32(7) }, /'tokenizer\.ggml\.bos_token_id' = 7 is out of range/],
    ['EOS out of range', { 'tokenizer.ggml.eos_token_id': gguf.u32(99) }, /'tokenizer\.ggml\.eos_token_id' = 99 is out of range/],
    ['EOT out of range', { 'tokenizer.ggml.eot_token_id': gguf.u32(1000) }, /'tokenizer\.ggml\.eot_token_id'/],
    ['negative padding id', { 'tokenizer.ggml.padding_token_id': gguf.i32(-1) }, /'tokenizer\.ggml\.padding_token_id'.*non-negative/],
    ['add_bos of the wrong type', { 'tokenizer.ggml.add_bos_token': gguf.u32(1) }, /'tokenizer\.ggml\.add_bos_token'.*bool/],
    ['unknown pre-tokenizer', { 'tokenizer.ggml.pre': gguf.str('qwen2') }, /'tokenizer\.ggml\.pre' = 'qwen2' is not a supported pre-tokenizer/],
    ['duplicate tokens', { 'tokenizer.ggml.tokens': gguf.strings(['a', 'b', 'ab', 'a', 'Ġab', 'x', 'y']) }, /token "a" twice \(ids 0 and 3\)/],
  ] as [string, Record<string, GgufValue | undefined>, RegExp][])('rejects %s', (_name, overrides, pattern) => {
    expectError(tinyBpe(overrides), pattern);
  });

  it('rejects an unsupported pre-tokenizer given as an option', () => {
    expect(() => createTokenizer(tinyBpe(), { preTokenizer: 'nope' })).toThrow(/option preTokenizer = 'nope'/);
  });

  it('applies llama.cpp defaults when keys are absent', () => {
    // gpt2 vocabularies default BOS/EOS to id 11: out of range here, so there is none
    const tok = createTokenizer(tinyBpe({ 'tokenizer.ggml.bos_token_id': undefined, 'tokenizer.ggml.eos_token_id': undefined, 'tokenizer.ggml.pre': undefined }));
    expect(tok.preTokenizer).toBe('default');
    expect(tok.bosId).toBeUndefined();
    expect(tok.addBos).toBe(false);
    expect(() => tok.encode('a', { addBos: true })).toThrow(/no BOS token/);
    expect(tok.encode('ab')).toEqual([2]);
  });

  it('rejects bad ids and inputs at use time', () => {
    const tok = createTokenizer(tinyBpe());
    expect(() => tok.decode([7])).toThrow(TokenizerError);
    expect(() => tok.decode([1.5])).toThrow(/out of range/);
    expect(() => tok.tokenText(-1)).toThrow(/out of range/);
    expect(() => tok.tokenBytes(100)).toThrow(/out of range/);
    expect(() => tok.encode(42 as unknown as string)).toThrow(/expects a string/);
  });

  it('keeps llama.cpp quirks for inconsistent vocabularies', () => {
    // merges "b a" and "Ġ b" produce texts that are not tokens: llama.cpp then emits the symbol
    // character by character, keeping one-byte (ASCII) characters that are tokens and silently
    // dropping the rest (here the space, "Ġ")
    const md = tinyBpe({ 'tokenizer.ggml.merges': gguf.strings(['a b', 'b a', 'Ġ b']) });
    const tok = createTokenizer(md);
    expect(tok.encode('aba', { addBos: false })).toEqual([2, 0]);
    expect(tok.encode('ba', { addBos: false })).toEqual([1, 0]);
    expect(tok.encode(' b', { addBos: false })).toEqual([1]);
    // empty token strings are renamed "[EMPTY_<id>]" rather than rejected
    const withEmpty = createTokenizer(tinyBpe({ 'tokenizer.ggml.tokens': gguf.strings(['a', 'b', 'ab', 'Ġ', 'Ġab', '', '<|eot_id|>']) }));
    expect(withEmpty.tokenText(5)).toBe('[EMPTY_5]');
  });
});
