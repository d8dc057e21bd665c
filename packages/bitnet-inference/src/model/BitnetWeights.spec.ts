import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgmlType, GgufFile, buildSyntheticModel, smallByteVocab } from '@bitnet/models';
import { createKernels } from '@bitnet/kernels';
import { ForwardPass } from '../forward/ForwardPass';
import { KvCache } from './KvCache';
import { loadBitnetWeights } from './BitnetWeights';

describe('loadBitnetWeights: TQ1_0 held as TQ2_0', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-weights-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const vocab = smallByteVocab();
  const file = path.join(dir, 'tq1.gguf');
  buildSyntheticModel({ arch: 'bitnet', quant: 'tq1_0', dim: 256, ff: 512, layers: 2, heads: 4, kvHeads: 1, vocab, seed: 5, contextLength: 64 }).writeFile(file);

  function load(repackTq1_0: boolean) {
    const f = GgufFile.open(file);
    try {
      return loadBitnetWeights(f, { repackTq1_0 });
    } finally {
      f.close();
    }
  }

  it('repacks by default (2-bit layout, 66 bytes per 256 values) and keeps the file layout on request', () => {
    const fast = load(true);
    const compact = load(false);
    expect(fast.layers[0].ffnDown.type).toBe(GgmlType.TQ2_0);
    expect(compact.layers[0].ffnDown.type).toBe(GgmlType.TQ1_0);
    expect(fast.layers[0].ffnDown.data.length).toBe((compact.layers[0].ffnDown.data.length / 54) * 66);
    expect(fast.bytes).toBeGreaterThan(compact.bytes);
  });

  it('gives bit-identical logits either way', () => {
    const prompt = [vocab.bosId, ...Buffer.from('And God said')];
    const logits = [true, false].map((repack) => {
      const w = load(repack);
      const fp = new ForwardPass(w, createKernels());
      const cache = new KvCache(w.config, prompt.length + 2);
      const first = fp.run(cache, prompt);
      return [first, fp.run(cache, [7])];
    });
    expect(logits[0][0]).toEqual(logits[1][0]);
    expect(logits[0][1]).toEqual(logits[1][1]);
  });
});
