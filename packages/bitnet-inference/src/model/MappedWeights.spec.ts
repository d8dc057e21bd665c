/**
 * Weights read in place from a read-only mapping of the file (openWeightsFile with the native
 * kernels): matrices in their file layout are views into the mapping, repacked / re-encoded ones
 * are private, the logits are those of the copied load, and bad files fail as before, unmapped.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgmlType, GgufFile, GgufFormatError, buildSyntheticModel, smallByteVocab } from '@bitnet/models';
import { createKernels, kernelBackend } from '@bitnet/kernels';
import { ForwardPass } from '../forward/ForwardPass';
import { BitnetWeights, loadBitnetWeights } from './BitnetWeights';
import { KvCache } from './KvCache';
import { WEIGHTS_ONLY_READ, openWeightsFile } from './openWeightsFile';

const native = kernelBackend('auto').name === 'native';
const describeNative = native ? describe : describe.skip;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-mapped-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const vocab = smallByteVocab();
const shape = { arch: 'bitnet', dim: 256, ff: 512, layers: 2, heads: 4, kvHeads: 1, vocab, seed: 11, contextLength: 64 } as const;
const i2s = path.join(dir, 'i2s.gguf');
buildSyntheticModel({ ...shape, quant: 'i2_s', outputType: GgmlType.F16 }).writeFile(i2s);
const tq1 = path.join(dir, 'tq1.gguf');
buildSyntheticModel({ ...shape, quant: 'tq1_0' }).writeFile(tq1);

function load(file: GgufFile, options?: Parameters<typeof loadBitnetWeights>[1]): BitnetWeights {
  try {
    return loadBitnetWeights(file, options);
  } finally {
    file.close();
  }
}

function logits(w: BitnetWeights): Float32Array[] {
  const fp = new ForwardPass(w, createKernels());
  const prompt = [vocab.bosId, ...Buffer.from('In the beginning')];
  const cache = new KvCache(w.config, prompt.length + 2);
  return [fp.run(cache, prompt), fp.run(cache, [9])];
}

describeNative('openWeightsFile with the native kernels (the file mapped in place)', () => {
  it('holds file-layout matrices as views into one mapping of the whole file', () => {
    const file = openWeightsFile(i2s, 'native');
    const image = file.image!;
    expect(image).toBeDefined();
    expect(image.buffer.byteLength).toBe(fs.statSync(i2s).size);
    const w = load(file);
    const matrices = [w.tokenEmbedding, w.output, ...w.layers.flatMap((l) => [l.attnQ, l.attnK, l.attnV, l.attnOutput, l.ffnGate, l.ffnUp, l.ffnDown])];
    for (const m of matrices) expect(m.data.buffer).toBe(image.buffer);
    expect(w.layers[0].attnQ.type).toBe(GgmlType.I2_S);
    // the f32 vectors are private, 4-byte-aligned copies
    expect(w.layers[0].attnNorm.buffer).not.toBe(image.buffer);
    expect(w.mappedBytes).toBe(matrices.filter((m, i) => matrices.indexOf(m) === i).reduce((n, m) => n + m.data.byteLength, 0));
    expect(w.mappedBytes).toBeGreaterThan(0.9 * w.bytes);
  });

  it('gives the logits of the copied load', () => {
    const mapped = load(openWeightsFile(i2s, 'native'));
    const copied = load(GgufFile.open(i2s));
    expect(copied.mappedBytes).toBe(0);
    expect(copied.layers[0].attnQ.data.buffer.byteLength).toBeLessThan(fs.statSync(i2s).size);
    const [a, b] = [logits(mapped), logits(copied)];
    expect(a[0]).toEqual(b[0]);
    expect(a[1]).toEqual(b[1]);
  });

  it('builds repacked and re-encoded matrices in private memory', () => {
    const file = openWeightsFile(tq1, 'native');
    const image = file.image!.buffer;
    const w = load(file, { repackTq1_0: true, outputType: 'q8_0' });
    expect(w.layers[0].ffnDown.type).toBe(GgmlType.TQ2_0);
    expect(w.layers[0].ffnDown.data.buffer).not.toBe(image);
    expect(w.output.type).toBe(GgmlType.Q8_0);
    expect(w.output.data.buffer).not.toBe(image);
    const kept = load(openWeightsFile(tq1, 'native'), { repackTq1_0: false });
    expect(kept.layers[0].ffnDown.type).toBe(GgmlType.TQ1_0);
    expect(kept.mappedBytes).toBeGreaterThan(0);
    const [a, b] = [logits(w), logits(load(GgufFile.open(tq1), { repackTq1_0: true, outputType: 'q8_0' }))];
    expect(a[0]).toEqual(b[0]);
    expect(a[1]).toEqual(b[1]);
  });

  it('rejects a truncated file with the typed error of the reader, before mapping it', () => {
    const bytes = fs.readFileSync(i2s);
    const cut = path.join(dir, 'cut.gguf');
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    let direct: unknown;
    try {
      GgufFile.open(cut);
    } catch (e) {
      direct = e;
    }
    expect(direct).toBeInstanceOf(GgufFormatError);
    expect(() => openWeightsFile(cut, 'native')).toThrow(GgufFormatError);
    try {
      openWeightsFile(cut, 'native');
    } catch (e) {
      expect((e as GgufFormatError).code).toBe((direct as GgufFormatError).code);
      expect((e as Error).message).toBe((direct as Error).message);
    }
  });

  it('refuses an image whose size is not the parsed file size', () => {
    const file = GgufFile.open(i2s);
    try {
      expect(() => file.useImage(new Uint8Array(file.fileSize - 1))).toThrow(/modified while open/);
    } finally {
      file.close();
    }
  });
});

describe('openWeightsFile with the TypeScript kernels', () => {
  it('reads the file as before (private buffers, nothing mapped)', () => {
    const file = openWeightsFile(i2s, 'ts');
    expect(file.image).toBeUndefined();
    const w = load(file);
    expect(w.mappedBytes).toBe(0);
    expect(w.layers[0].attnQ.data.buffer.byteLength).toBeLessThan(fs.statSync(i2s).size);
  });
});

describe('openWeightsFile with WEIGHTS_ONLY_READ (the engine worker: tokenizer arrays skipped)', () => {
  it('keeps no tokenizer array and loads the same weights and config', () => {
    const file = openWeightsFile(i2s, 'ts', WEIGHTS_ONLY_READ);
    expect(file.metadata.skippedKeys()).toEqual(expect.arrayContaining(['tokenizer.ggml.tokens', 'tokenizer.ggml.token_type']));
    expect(file.metadata.skippedArray('tokenizer.ggml.tokens')?.length).toBe(vocab.tokens.length);
    expect(() => file.metadata.getStringArray('tokenizer.ggml.tokens')).toThrow(/skipped/);
    const skipped = load(file);
    const full = load(GgufFile.open(i2s));
    expect(skipped.config).toEqual(full.config);
    expect(skipped.config.vocabSize).toBe(vocab.tokens.length);
    const [a, b] = [logits(skipped), logits(full)];
    expect(a[0]).toEqual(b[0]);
    expect(a[1]).toEqual(b[1]);
  });

  it('fails on a file cut inside the tokenizer arrays exactly as a full read does', () => {
    const bytes = fs.readFileSync(i2s);
    const cut = path.join(dir, 'cut-tokens.gguf');
    for (const n of [300, 1000, 2000]) {
      fs.writeFileSync(cut, bytes.subarray(0, n));
      const error = (read: () => unknown) => {
        try {
          read();
        } catch (e) {
          return `${(e as GgufFormatError).code} ${(e as Error).message}`;
        }
        return 'ok';
      };
      const full = error(() => GgufFile.open(cut).close());
      expect(full).toMatch(/^(TRUNCATED|BAD_STRING|BAD_COUNT) /);
      expect(error(() => openWeightsFile(cut, 'ts', WEIGHTS_ONLY_READ).close())).toBe(full);
    }
  });
});
