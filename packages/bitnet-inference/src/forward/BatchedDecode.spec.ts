import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgufFile, SyntheticModelOptions, buildSyntheticModel, smallByteVocab } from '@bitnet/models';
import { createKernels } from '@bitnet/kernels';
import { loadBitnetWeights } from '../model/BitnetWeights';
import { KvCache } from '../model/KvCache';
import { argmax } from '../sampling/Sampler';
import { ForwardPass } from './ForwardPass';

/**
 * Continuous batching must be invisible in the numbers: a sequence decoded inside a batch (other
 * sequences, other positions, any batch size) gets bit-for-bit the logits it gets alone.
 */
describe('batched decode (one forward pass for several sequences)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-batch-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const vocab = smallByteVocab();
  const base: SyntheticModelOptions = { arch: 'bitnet', quant: 'tq2_0', dim: 256, ff: 512, layers: 2, heads: 4, kvHeads: 2, vocab, seed: 11, contextLength: 128 };
  const prompts = ['In the beginning', 'And God said', 'Let there be light', 'x', 'The earth was without form, and void', 'Amen', 'Q', 'Blessed are'].map((p) => [
    vocab.bosId,
    ...Buffer.from(p),
  ]);

  function load(opts: Partial<SyntheticModelOptions>): ForwardPass {
    const file = path.join(dir, `${JSON.stringify(opts).replace(/\W+/g, '-')}.gguf`);
    buildSyntheticModel({ ...base, ...opts }).writeFile(file);
    const f = GgufFile.open(file);
    const weights = loadBitnetWeights(f);
    f.close();
    return new ForwardPass(weights, createKernels(), { maxChunkTokens: 16 });
  }

  /** Greedy decoding of every prompt alone: the ids and each step's logits. */
  function solo(fp: ForwardPass, prompt: number[], steps: number): { ids: number[]; logits: Float32Array[] } {
    const cache = new KvCache(fp.weights.config, prompt.length + steps);
    const logits = [fp.run(cache, prompt)];
    const ids: number[] = [];
    for (let i = 0; i < steps; i++) {
      ids.push(argmax(logits[i]));
      if (i + 1 < steps) logits.push(fp.run(cache, [ids[i]]));
    }
    return { ids, logits };
  }

  it.each([
    ['bitnet-b1.58, I2_S', { arch: 'bitnet-b1.58', quant: 'i2_s' }],
    ['bitnet, TQ2_0', { quant: 'tq2_0' }],
    ['bitnet, TQ1_0, GQA 4', { quant: 'tq1_0', kvHeads: 1 }],
  ] as const)('%s: each sequence in a batch of 8 (staggered starts) has its solo logits bit for bit', (_name, opts) => {
    const fp = load(opts);
    const steps = 6;
    const ref = prompts.map((p) => solo(fp, p, steps));
    // Sequences join the batch at different rounds (after their prefill), so the batch size and
    // the mix of positions change from round to round, as in the engine.
    const caches = prompts.map((p) => new KvCache(fp.weights.config, p.length + steps));
    const got = prompts.map(() => ({ ids: [] as number[], logits: [] as Float32Array[] }));
    for (let round = 0; round < prompts.length + steps; round++) {
      const running = prompts.map((_, i) => i).filter((i) => i < round && got[i].ids.length < steps);
      if (running.length > 0) {
        const out = fp.decodeBatch(
          running.map((i) => caches[i]),
          running.map((i) => got[i].ids[got[i].ids.length - 1]),
        );
        running.forEach((i, j) => {
          got[i].logits.push(out[j]);
          got[i].ids.push(argmax(out[j]));
        });
      }
      if (round < prompts.length) {
        const logits = fp.run(caches[round], prompts[round]);
        got[round].logits.push(logits);
        got[round].ids.push(argmax(logits));
      }
    }
    for (let i = 0; i < prompts.length; i++) {
      expect(got[i].ids).toEqual(ref[i].ids);
      for (let s = 0; s < steps; s++) expect(got[i].logits[s]).toEqual(ref[i].logits[s]);
    }
  });

  it.each([
    ['bitnet-b1.58, I2_S', { arch: 'bitnet-b1.58', quant: 'i2_s' }],
    ['bitnet, TQ2_0', { quant: 'tq2_0' }],
  ] as const)('%s: stepMany (decode rows and a prefill chunk in one pass) gives every sequence its solo logits', (_name, opts) => {
    const fp = load(opts);
    const steps = 5;
    const ref = prompts.map((p) => solo(fp, p, steps));
    const caches = prompts.map((p) => new KvCache(fp.weights.config, p.length + steps));
    const got = prompts.map(() => ({ ids: [] as number[], logits: [] as Float32Array[] }));
    const prefilled = prompts.map(() => 0);
    // Each pass: every sequence past its prompt decodes one token; the next prompt fills the other rows
    // (16 per pass), so prompts are split at arbitrary points and share passes with decode rows.
    for (let pass = 0; pass < 100 && got.some((g) => g.ids.length < steps); pass++) {
      const decoding = prompts.map((_, i) => i).filter((i) => prefilled[i] === prompts[i].length && got[i].ids.length < steps);
      const parts = decoding.map((i) => ({ cache: caches[i], ids: [got[i].ids[got[i].ids.length - 1]], wantLogits: true }));
      const next = prompts.findIndex((p, i) => prefilled[i] < p.length);
      let chunkOf = -1;
      if (next >= 0 && parts.length < 16) {
        const end = Math.min(prompts[next].length, prefilled[next] + 16 - parts.length);
        parts.push({ cache: caches[next], ids: prompts[next].slice(prefilled[next], end), wantLogits: end === prompts[next].length });
        prefilled[next] = end;
        chunkOf = next;
      }
      const out = fp.stepMany(parts);
      decoding.forEach((i, j) => {
        got[i].logits.push(Float32Array.from(out[j]!));
        got[i].ids.push(argmax(out[j]!));
      });
      const last = out[parts.length - 1];
      if (chunkOf >= 0 && last) {
        got[chunkOf].logits.push(Float32Array.from(last));
        got[chunkOf].ids.push(argmax(last));
      } else if (chunkOf >= 0) expect(last).toBeUndefined();
    }
    for (let i = 0; i < prompts.length; i++) {
      expect(got[i].ids).toEqual(ref[i].ids);
      for (let s = 0; s < steps; s++) expect(got[i].logits[s]).toEqual(ref[i].logits[s]);
    }
    expect(() => fp.stepMany([{ cache: caches[0], ids: Array(17).fill(1), wantLogits: true }])).toThrow(RangeError);
  });

  it('rejects a batch it cannot run before touching any cache', () => {
    const fp = load({});
    const a = new KvCache(fp.weights.config, 4);
    const full = new KvCache(fp.weights.config, 1);
    fp.run(full, [vocab.bosId]);
    expect(() => fp.decodeBatch([a, full], [1, 2])).toThrow(/exceed the cache capacity/);
    expect(a.length).toBe(0);
    expect(() => fp.decodeBatch([a, a], [1, 2])).toThrow(/distinct caches/);
    expect(() => fp.decodeBatch([a], [1, 2])).toThrow(/one token each/);
    expect(() => fp.decodeBatch([], [])).toThrow(RangeError);
  });
});
