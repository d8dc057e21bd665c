import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgufFile, SyntheticModelOptions, buildSyntheticModel, smallByteVocab } from '@bitnet/models';
import { createKernels } from '@bitnet/kernels';
import { loadBitnetWeights } from '../model/BitnetWeights';
import { KvCache } from '../model/KvCache';
import { ForwardPass } from './ForwardPass';

/**
 * Chunking must be invisible in the numbers: a token's logits are the same bit for bit whether its
 * position was reached by one-token steps, by prefill chunks of any size, or by a mix (a resumed
 * generation prefills ids that the original run decoded one at a time).
 */
describe('forward pass: per-row results do not depend on the chunking', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-chunk-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const vocab = smallByteVocab();
  const base: SyntheticModelOptions = { arch: 'bitnet', quant: 'tq2_0', dim: 256, ff: 512, layers: 2, heads: 4, kvHeads: 2, vocab, seed: 5, contextLength: 128 };
  const prompt = [vocab.bosId, ...Buffer.from('In the beginning God created the heaven — and the earth.')];

  function load(opts: Partial<SyntheticModelOptions>, chunk: number): ForwardPass {
    const file = path.join(dir, `${JSON.stringify(opts).replace(/\W+/g, '-')}.gguf`);
    if (!fs.existsSync(file)) buildSyntheticModel({ ...base, ...opts }).writeFile(file);
    const f = GgufFile.open(file);
    const weights = loadBitnetWeights(f);
    f.close();
    return new ForwardPass(weights, createKernels(), { maxChunkTokens: chunk });
  }

  /** The logits at every position of `prompt`, each from a fresh cache prefilled in chunks of `chunk`. */
  function logitsAt(fp: ForwardPass, chunk: number): Float32Array[] {
    const out: Float32Array[] = [];
    for (let p = 1; p <= prompt.length; p++) {
      const cache = new KvCache(fp.weights.config, prompt.length);
      let logits: Float32Array | undefined;
      for (let s = 0; s < p; s += chunk) {
        const end = Math.min(p, s + chunk);
        logits = fp.step(cache, prompt.slice(s, end), end === p);
      }
      out.push(logits!);
    }
    return out;
  }

  it.each([
    ['bitnet-b1.58, I2_S', { arch: 'bitnet-b1.58', quant: 'i2_s' }],
    ['bitnet, TQ2_0', { quant: 'tq2_0' }],
    ['bitnet, TQ1_0, GQA 4', { quant: 'tq1_0', kvHeads: 1 }],
  ] as const)('%s: chunks of 1, 3 and 64 give bit-identical logits at every position', (_name, opts) => {
    const fp = load(opts, 64);
    const one = logitsAt(fp, 1);
    for (const chunk of [3, 64]) {
      const got = logitsAt(fp, chunk);
      for (let p = 0; p < prompt.length; p++) {
        const a = Buffer.from(one[p].buffer, one[p].byteOffset, one[p].byteLength);
        const b = Buffer.from(got[p].buffer, got[p].byteOffset, got[p].byteLength);
        if (!a.equals(b)) {
          let diff = 0;
          for (let i = 0; i < one[p].length; i++) diff = Math.max(diff, Math.abs(one[p][i] - got[p][i]));
          throw new Error(`chunk ${chunk}, position ${p}: logits differ (max |Δ| ${diff})`);
        }
      }
    }
  });
});
