import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgmlType, GgufFile, buildSyntheticModel, smallByteVocab } from '@bitnet/models';
import { type PageAllocateOptions, createKernels, pageMemory } from '@bitnet/kernels';
import { ForwardPass } from '../forward/ForwardPass';
import { KvCache } from './KvCache';
import { loadBitnetWeights } from './BitnetWeights';

describe('loadBitnetWeights: TQ1_0 held as TQ2_0', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-weights-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const vocab = smallByteVocab();
  const file = path.join(dir, 'tq1.gguf');
  buildSyntheticModel({ arch: 'bitnet', quant: 'tq1_0', dim: 256, ff: 512, layers: 2, heads: 4, kvHeads: 1, vocab, seed: 5, contextLength: 64 }).writeFile(file);

  function load(repackTq1_0: boolean, kernels?: ReturnType<typeof createKernels>, memory?: NonNullable<Parameters<typeof loadBitnetWeights>[1]>['memory']) {
    const f = GgufFile.open(file);
    try {
      return loadBitnetWeights(f, { repackTq1_0, kernels, memory });
    } finally {
      f.close();
    }
  }

  it('with a page memory: every repacked matrix is a view into one huge-page buffer, the same bytes and logits', () => {
    const calls: Array<{ bytes: number; options?: PageAllocateOptions; buffer: ArrayBuffer }> = [];
    const recording = { allocate: (bytes: number, options?: PageAllocateOptions) => calls[calls.push({ bytes, options, buffer: new ArrayBuffer(bytes) }) - 1].buffer };
    const plain = load(true);
    const carved = load(true, createKernels(), recording);
    expect(calls.map((c) => c.options)).toEqual([{ hugePages: true }]);
    const views = carved.layers.flatMap((l) => [l.attnQ, l.attnK, l.attnV, l.attnOutput, l.ffnGate, l.ffnUp, l.ffnDown]).map((m) => m.data);
    expect(views.every((v) => v.buffer === calls[0].buffer && v.byteOffset % 64 === 0)).toBe(true);
    const spans = views.map((v) => [v.byteOffset, v.byteOffset + v.length]).sort((a, b) => a[0] - b[0]);
    spans.forEach(([, end], i) => i + 1 < spans.length && expect(end).toBeLessThanOrEqual(spans[i + 1][0])); // no overlap
    expect(spans[spans.length - 1][1]).toBeLessThanOrEqual(calls[0].bytes);
    carved.layers.forEach((l, i) => expect(Buffer.from(l.ffnUp.data).equals(Buffer.from(plain.layers[i].ffnUp.data))).toBe(true));
    // the float matrices and vectors are not converted: not in it
    expect(carved.output.data.buffer).not.toBe(calls[0].buffer);
    // the engine's own page memory (native pages when the addon is in use) gives the same logits
    const prompt = [vocab.bosId, ...Buffer.from('In the beginning')];
    const logits = [plain, load(true, createKernels(), pageMemory())].map((w) => new ForwardPass(w, createKernels()).run(new KvCache(w.config, prompt.length), prompt));
    expect(logits[1]).toEqual(logits[0]);
    // nothing to convert: no allocation at all
    load(false, createKernels(), recording);
    expect(calls).toHaveLength(1);
  });

  it('repacks by default (2-bit layout, 66 bytes per 256 values) and keeps the file layout on request', () => {
    const fast = load(true);
    const compact = load(false);
    expect(fast.layers[0].ffnDown.type).toBe(GgmlType.TQ2_0);
    expect(compact.layers[0].ffnDown.type).toBe(GgmlType.TQ1_0);
    expect(fast.layers[0].ffnDown.data.length).toBe((compact.layers[0].ffnDown.data.length / 54) * 66);
    expect(fast.bytes).toBeGreaterThan(compact.bytes);
    // the kernels' repack (native when the addon is in use) writes the same bytes as the reference
    const viaKernels = load(true, createKernels());
    expect(viaKernels.layers[0].ffnDown.type).toBe(GgmlType.TQ2_0);
    viaKernels.layers.forEach((l, i) => expect(Buffer.from(l.ffnDown.data).equals(Buffer.from(fast.layers[i].ffnDown.data))).toBe(true));
    expect(Buffer.from(viaKernels.layers[1].attnQ.data).equals(Buffer.from(fast.layers[1].attnQ.data))).toBe(true);
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

describe("loadBitnetWeights: outputType 'q8_0' on the bundled KJV model (tied F16 embeddings)", () => {
  const model = path.resolve(__dirname, '../../models/bitnet-b1.58-kjv-i2_s.gguf');

  function load(options: Parameters<typeof loadBitnetWeights>[1]) {
    const f = GgufFile.open(model);
    try {
      return loadBitnetWeights(f, options);
    } finally {
      f.close();
    }
  }

  const argmax = (l: Float32Array) => l.reduce((b, v, i) => (v > l[b] ? i : b), 0);

  it('re-encodes the output matrix to Q8_0 (34 bytes per 32 values), the tied embedding lookups share it; exact stays the default', () => {
    const exact = load({});
    const q8 = load({ outputType: 'q8_0' });
    expect(exact.tensors.tiedOutput).toBe(true);
    expect([exact.outputType, exact.output.type, exact.outputFileType]).toEqual(['exact', GgmlType.F16, GgmlType.F16]);
    expect([q8.outputType, q8.output.type, q8.outputFileType]).toEqual(['q8_0', GgmlType.Q8_0, GgmlType.F16]);
    expect(q8.output.data.length).toBe((exact.output.rows * exact.output.cols * 34) / 32);
    expect(q8.tokenEmbedding.data).toBe(q8.output.data); // one copy
    expect(q8.bytes).toBe(exact.bytes - exact.output.data.length + q8.output.data.length);
    const both = load({ outputType: 'q8_0', exactTiedEmbeddings: true });
    expect([both.tokenEmbedding.type, both.output.type]).toEqual([GgmlType.F16, GgmlType.Q8_0]);
    // the kernels' re-encode (native when the addon is in use) writes the same bytes as the reference
    const viaKernels = load({ outputType: 'q8_0', kernels: createKernels() });
    expect(Buffer.from(viaKernels.output.data).equals(Buffer.from(q8.output.data))).toBe(true);
    // with a page memory the Q8_0 copy is its one huge-page allocation, the same bytes
    const sizes: number[] = [];
    const inPages = load({ outputType: 'q8_0', kernels: createKernels(), memory: { allocate: (bytes, o) => (sizes.push(o?.hugePages ? bytes : -1), pageMemory().allocate(bytes, o)) } });
    expect(sizes).toEqual([Math.ceil(q8.output.data.length / 64) * 64]);
    expect(inPages.output.data.buffer.byteLength).toBe(sizes[0]);
    expect(Buffer.from(inPages.output.data).equals(Buffer.from(q8.output.data))).toBe(true);
  });

  it('keeps the logits close: cosine >= 0.999 and the same greedy tokens over 48 steps', () => {
    // Measured (README): min cosine 0.99988, max |Δlogit| 0.27 of a ~33 logit range, 64/64 greedy tokens equal.
    const kernels = createKernels();
    const passes = [load({}), load({ outputType: 'q8_0' })].map((w) => ({ fp: new ForwardPass(w, kernels), cache: new KvCache(w.config, 64) }));
    let logits = passes.map((p) => p.fp.run(p.cache, [1]));
    let same = 0;
    const steps = 48;
    for (let s = 0; s < steps; s++) {
      const [a, b] = logits;
      let dot = 0;
      let na = 0;
      let nb = 0;
      for (let i = 0; i < a.length; i++) {
        dot += a[i] * b[i];
        na += a[i] * a[i];
        nb += b[i] * b[i];
      }
      expect(dot / Math.sqrt(na * nb)).toBeGreaterThanOrEqual(0.999);
      const next = argmax(a);
      if (argmax(b) === next) same++;
      // both follow the exact model's greedy tokens, so one early difference cannot cascade
      logits = passes.map((p) => p.fp.run(p.cache, [next]));
    }
    expect(same).toBeGreaterThanOrEqual(steps - 2);
  });
});
