import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgufFile, SyntheticModelOptions, buildSyntheticModel, smallByteVocab } from '@bitnet/models';
import { runLlamaCpp } from '@bitnet/models/testing';
import { createKernels } from '@bitnet/kernels';
import { loadBitnetWeights } from '../model/BitnetWeights';
import { KvCache } from '../model/KvCache';
import { argmax } from '../sampling/Sampler';
import { ForwardPass } from './ForwardPass';

function greedy(file: string, prompt: number[], n: number, chunk = 64): number[] {
  const f = GgufFile.open(file);
  const weights = loadBitnetWeights(f);
  f.close();
  const fp = new ForwardPass(weights, createKernels(), { maxChunkTokens: chunk });
  const cache = new KvCache(weights.config, prompt.length + n);
  const out: number[] = [];
  let logits = fp.run(cache, prompt);
  for (let i = 0; i < n; i++) {
    const next = argmax(logits);
    out.push(next);
    if (i + 1 < n) logits = fp.run(cache, [next]);
  }
  return out;
}

describe('forward pass vs llama.cpp (greedy ids)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-fwd-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const vocab = smallByteVocab();
  const base: SyntheticModelOptions = { arch: 'bitnet', quant: 'tq2_0', dim: 256, ff: 512, layers: 2, heads: 4, kvHeads: 2, vocab, seed: 3, contextLength: 256 };
  const prompt = [vocab.bosId, ...Buffer.from('And God said')];

  it.each([
    ['tq2_0, GQA 2', { quant: 'tq2_0' }],
    ['tq1_0, GQA 4', { quant: 'tq1_0', kvHeads: 1 }],
    ['tq2_0, MHA, head dim 128', { heads: 2, kvHeads: 2 }],
  ] as const)('%s', (_name, opts) => {
    const file = path.join(dir, `${_name.replace(/\W+/g, '-')}.gguf`);
    buildSyntheticModel({ ...base, ...opts }).writeFile(file);
    const theirs = runLlamaCpp<{ ids: number[] }>({ op: 'generate', model: file, prompt, maxTokens: 24 }).ids;
    expect(greedy(file, prompt, 24)).toEqual(theirs);
    // prefill in chunks of 5 gives the same ids as one chunk
    expect(greedy(file, prompt, 8, 5)).toEqual(theirs.slice(0, 8));
  });
});
