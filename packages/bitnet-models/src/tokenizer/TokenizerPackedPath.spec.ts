/**
 * createTokenizer builds its tables from the file's packed string arrays, one text at a time; the
 * tokenizer it gives is the one the plain-array path (tokenizerDataFromMetadata, then
 * createTokenizerFromData) gives: same ids, same decoded text, same special tokens.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TokenizerError } from '../errors';
import { GgufFile } from '../gguf/GgufFile';
import { GgufMetadata, gguf } from '../gguf/GgufMetadata';
import { GgufStringArray } from '../gguf/GgufStringArray';
import { GgufWriter } from '../gguf/GgufWriter';
import { llama3Metadata } from '../testing/llama3Vocab';
import { SPM_SAMPLES, spmMetadata } from '../testing/spmVocab';
import { tokenizerCorpus } from '../testing/tokenizerCorpus';
import { createTokenizer, createTokenizerFromData } from './createTokenizer';
import type { Tokenizer } from './Tokenizer';
import { tokenizerDataFromMetadata } from './TokenizerData';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-tok-packed-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Writes the metadata into a GGUF file (no tensors) and reads it back. */
function throughFile(md: GgufMetadata, name: string): GgufMetadata {
  const file = path.join(dir, name);
  const w = new GgufWriter();
  for (const [k, v] of md.entries()) w.set(k, v);
  w.writeFile(file);
  const f = GgufFile.open(file);
  f.close(); // the metadata stays readable
  return f.metadata;
}

function expectSameTokenizer(md: GgufMetadata, texts: readonly string[]): void {
  expect(md.optStringList('tokenizer.ggml.tokens')).toBeInstanceOf(GgufStringArray);
  const packed = createTokenizer(md);
  const plain = createTokenizerFromData(tokenizerDataFromMetadata(md));
  const facts = (t: Tokenizer) => [t.vocabSize, t.bosId, t.eosId, t.eotId, t.addBos, [...t.endOfGenerationIds]];
  expect(facts(packed)).toEqual(facts(plain));
  const mismatches: string[] = [];
  for (const text of texts) {
    for (const parseSpecial of [false, true]) {
      const a = packed.encode(text, { parseSpecial });
      const b = plain.encode(text, { parseSpecial });
      if (a.join() !== b.join() || packed.decode(a) !== plain.decode(b)) mismatches.push(JSON.stringify({ text, parseSpecial }));
    }
  }
  expect(mismatches).toEqual([]);
  const all = Array.from({ length: packed.vocabSize }, (_, id) => id);
  expect(packed.decode(all, { skipSpecial: false })).toBe(plain.decode(all, { skipSpecial: false }));
}

describe('tokenizer from packed string arrays', () => {
  it('LLaMA-3 (byte-level BPE): same ids as the plain-array path on the corpus', () => {
    const md = throughFile(llama3Metadata({ pre: 'llama-bpe', chatTemplate: 'x' }), 'llama3.gguf');
    const corpus = [...tokenizerCorpus(), '<|begin_of_text|>hi<|eot_id|>', ' hello world'];
    expectSameTokenizer(md, corpus);
    expect(createTokenizer(md).encode(' hello world', { addBos: false })).toEqual([24748, 1917]);
  });

  it('SentencePiece: same ids as the plain-array path', () => {
    expectSameTokenizer(throughFile(spmMetadata(), 'spm.gguf'), SPM_SAMPLES);
  });

  it('empty and duplicate token texts are treated the same', () => {
    const md = new GgufMetadata();
    md.set('tokenizer.ggml.model', gguf.str('gpt2'));
    md.set('tokenizer.ggml.tokens', gguf.strings(['a', 'b', '', 'ab', 'Ġ', 'Ġa']));
    md.set('tokenizer.ggml.merges', gguf.strings(['a b', 'Ġ a']));
    expectSameTokenizer(throughFile(md, 'small.gguf'), ['ab a', 'ba', '[EMPTY_2]', 'aab b ab']);
    const dup = new GgufMetadata();
    dup.set('tokenizer.ggml.model', gguf.str('gpt2'));
    dup.set('tokenizer.ggml.tokens', gguf.strings(['a', 'b', 'a']));
    dup.set('tokenizer.ggml.merges', gguf.strings([]));
    const packedDup = throughFile(dup, 'dup.gguf');
    const message = "tokenizer metadata 'tokenizer.ggml.tokens' has the token \"a\" twice (ids 0 and 2)";
    expect(() => createTokenizer(packedDup)).toThrow(new TokenizerError(message));
    expect(() => createTokenizerFromData(tokenizerDataFromMetadata(packedDup))).toThrow(new TokenizerError(message));
  });
});
