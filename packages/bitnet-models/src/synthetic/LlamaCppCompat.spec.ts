/**
 * The writer and the ternary layouts, proven against llama.cpp: node-llama-cpp loads models written
 * by buildSyntheticModel and runs them. The same seeded trits stored as TQ1_0 and as TQ2_0 must give
 * llama.cpp identical greedy tokens, which only happens when both packings decode to the same weights.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgufFile } from '../gguf/GgufFile';
import { GgmlType } from '../tensor/GgmlType';
import { runLlamaCpp } from '../testing/llamaCppOracle';
import { buildSyntheticModel, SyntheticModelOptions } from './SyntheticModel';
import { smallByteVocab } from './SyntheticVocab';

interface Generated {
  ids: number[];
  arch: string;
}

describe('models written by the project writer run in llama.cpp', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-compat-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const vocab = smallByteVocab();
  const shape: SyntheticModelOptions = { arch: 'bitnet', quant: 'tq2_0', dim: 256, ff: 768, layers: 3, heads: 4, kvHeads: 2, vocab, seed: 42, contextLength: 256 };
  const prompt = [vocab.bosId, 72, 101, 108, 108, 111];

  function write(name: string, opts: Partial<SyntheticModelOptions>): string {
    const file = path.join(dir, name);
    buildSyntheticModel({ ...shape, ...opts }).writeFile(file);
    GgufFile.open(file).close(); // our reader accepts it too
    return file;
  }

  it('TQ1_0 and TQ2_0 files with the same trits generate the same tokens', () => {
    const tq2 = runLlamaCpp<Generated>({ op: 'generate', model: write('tq2.gguf', { quant: 'tq2_0' }), prompt, maxTokens: 12 });
    const tq1 = runLlamaCpp<Generated>({ op: 'generate', model: write('tq1.gguf', { quant: 'tq1_0' }), prompt, maxTokens: 12 });
    expect(tq2.arch).toBe('bitnet');
    expect(tq2.ids).toHaveLength(12);
    for (const id of tq2.ids) expect(id).toBeGreaterThanOrEqual(0);
    for (const id of tq2.ids) expect(id).toBeLessThan(vocab.tokens.length);
    expect(tq1.ids).toEqual(tq2.ids);
    // a different seed is a different model: the ids above are not an artefact of the vocabulary
    const other = runLlamaCpp<Generated>({ op: 'generate', model: write('tq2-other.gguf', { seed: 7 }), prompt, maxTokens: 12 });
    expect(other.ids).not.toEqual(tq2.ids);
  });

  // llama.cpp's `bitnet` graph always ties the output to token_embd, so these also exercise each
  // embedding type as the output matrix.
  it.each([GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.Q8_0, GgmlType.BF16, GgmlType.F32])('loads and runs embedding type %i', (embeddingType) => {
    const file = write(`emb-${embeddingType}.gguf`, { embeddingType, quant: 'tq1_0' });
    const r = runLlamaCpp<Generated>({ op: 'generate', model: file, prompt, maxTokens: 4 });
    expect(r.ids).toHaveLength(4);
  });
});
