/**
 * The literal check: on one GGUF file made by the model maker (architecture `bitnet`, LLaMA-3
 * vocabulary), `bitnet-gguf tokenize` and llama.cpp's `model.tokenize(text, false)` give the same ids
 * for every corpus string.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../cli/bitnet-gguf';
import { GgmlType } from '../tensor/GgmlType';
import { buildSyntheticModel } from '../synthetic/SyntheticModel';
import { llama3Vocab } from '../synthetic/Llama3Vocab';
import { llamaCppTokenize } from '../testing/llamaCppOracle';
import { tokenizerCorpus } from '../testing/tokenizerCorpus';

describe('bitnet-gguf tokenize equals llama.cpp on the same file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-same-file-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('for every corpus string (LLaMA-3 vocabulary, pre = llama-bpe)', () => {
    const corpus = tokenizerCorpus();
    expect(corpus.length).toBeGreaterThanOrEqual(500);
    const model = path.join(dir, 'llama3-tq2.gguf');
    buildSyntheticModel({
      arch: 'bitnet', quant: 'tq2_0', dim: 256, ff: 256, layers: 1, heads: 4, kvHeads: 4,
      vocab: llama3Vocab({ pre: 'llama-bpe' }), seed: 11, embeddingType: GgmlType.Q8_0,
    }).writeFile(model);
    const input = path.join(dir, 'corpus.json');
    fs.writeFileSync(input, JSON.stringify(corpus));
    let out = '';
    expect(main(['tokenize', model, '--input', input], (s) => (out += s))).toBe(0);
    const ours: number[][] = JSON.parse(out);
    const theirs = llamaCppTokenize(model, corpus, false);
    expect(ours).toHaveLength(corpus.length);
    const mismatches = corpus.map((s, i) => ({ s, ours: ours[i], theirs: theirs[i] })).filter((r) => r.ours.join() !== r.theirs.join());
    expect(mismatches).toEqual([]);
  });
});
