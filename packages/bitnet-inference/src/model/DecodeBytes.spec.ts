/**
 * BitnetWeights.decodeBytesPerToken against a sum taken from the file's own tensor list: every
 * tensor but the token-embedding table at its size in the file, the table counted whole when it is
 * the (tied) output and as one row otherwise; TQ1_0 matrices at their TQ2_0 size when repacked,
 * a re-encoded output at its Q8_0 size.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgmlType, GgufFile, GgufTensorInfo, buildSyntheticModel, smallByteVocab } from '@bitnet/models';
import { LoadWeightsOptions, loadBitnetWeights } from './BitnetWeights';

const SHAPE = { dim: 256, ff: 512, layers: 2, heads: 4, kvHeads: 1, seed: 3, contextLength: 64 } as const;

/** Bytes a decode step reads, from the tensor list, for a load with these options. */
function expectedFromTensors(tensors: readonly GgufTensorInfo[], o: { repackTq1_0: boolean; q8Output: boolean }): number {
  const tied = !tensors.some((t) => t.name === 'output.weight');
  const q8Size = (t: GgufTensorInfo) => (t.elementCount / 32) * 34;
  let sum = 0;
  for (const t of tensors) {
    if (t.name === 'token_embd.weight') {
      // tied: the table is the output matrix (re-encoded when asked); untied: one row is looked up
      sum += tied ? (o.q8Output ? q8Size(t) : t.byteSize) : t.byteSize / t.dims[1];
    } else if (t.name === 'output.weight') {
      sum += o.q8Output ? q8Size(t) : t.byteSize;
    } else if (t.type === GgmlType.TQ1_0 && o.repackTq1_0) {
      sum += (t.elementCount / 256) * 66;
    } else {
      sum += t.byteSize;
    }
  }
  return sum;
}

describe('loadBitnetWeights: decodeBytesPerToken', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-decode-bytes-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const vocab = smallByteVocab();
  const make = (name: string, quant: 'i2_s' | 'tq2_0' | 'tq1_0', outputType?: GgmlType) => {
    const file = path.join(dir, name);
    buildSyntheticModel({ arch: quant === 'i2_s' ? 'bitnet-b1.58' : 'bitnet', quant, ...SHAPE, vocab, outputType }).writeFile(file);
    return file;
  };
  const files = {
    tiedI2s: make('tied-i2s.gguf', 'i2_s'),
    untiedTq2: make('untied-tq2.gguf', 'tq2_0', GgmlType.F16),
    tiedTq1: make('tied-tq1.gguf', 'tq1_0'),
  };

  function both(file: string, options: LoadWeightsOptions) {
    const f = GgufFile.open(file);
    try {
      const w = loadBitnetWeights(f, options);
      const expected = expectedFromTensors(f.tensors, { repackTq1_0: options.repackTq1_0 ?? true, q8Output: options.outputType === 'q8_0' });
      return { w, expected };
    } finally {
      f.close();
    }
  }

  it.each([
    ['tied I2_S, exact output', files.tiedI2s, {}],
    ['tied I2_S, Q8_0 output', files.tiedI2s, { outputType: 'q8_0' }],
    ['untied TQ2_0 with an F16 output, exact', files.untiedTq2, {}],
    ['untied TQ2_0 with an F16 output, Q8_0', files.untiedTq2, { outputType: 'q8_0' }],
    ['tied TQ1_0, repacked', files.tiedTq1, {}],
    ['tied TQ1_0, file layout', files.tiedTq1, { repackTq1_0: false }],
  ] as Array<[string, string, LoadWeightsOptions]>)('%s: the sum over the tensor list', (_name, file, options) => {
    const { w, expected } = both(file, options);
    expect(w.decodeBytesPerToken).toBe(expected);
  });

  it('counts one embedding row beside an untied output and the whole table when tied', () => {
    const tied = both(files.tiedI2s, {}).w;
    const untied = both(files.untiedTq2, {}).w;
    const row = (m: { data: Uint8Array; rows: number }) => m.data.length / m.rows;
    // tied: every byte held is read by a step
    expect(tied.decodeBytesPerToken).toBe(tied.bytes);
    // untied: everything but the embedding table, plus one of its rows
    expect(untied.decodeBytesPerToken).toBe(untied.bytes - untied.tokenEmbedding.data.length + row(untied.tokenEmbedding));
    // keeping the exact table beside a tied Q8_0 output adds one F16 row, not the table
    const f = GgufFile.open(files.tiedI2s);
    try {
      const kept = loadBitnetWeights(f, { outputType: 'q8_0', exactTiedEmbeddings: true });
      expect(kept.decodeBytesPerToken).toBe(both(files.tiedI2s, { outputType: 'q8_0' }).w.decodeBytesPerToken + row(kept.tokenEmbedding));
    } finally {
      f.close();
    }
  });
});
