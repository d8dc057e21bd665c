import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelConfigError } from '../errors';
import { buildSyntheticModel, smallByteVocab } from '../synthetic';
import { summarizeModel } from './ModelSummary';

describe('summarizeModel', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-inf-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('describes a model written by the project writer', () => {
    const file = path.join(dir, 'm.gguf');
    buildSyntheticModel({ arch: 'bitnet-b1.58', quant: 'i2_s', dim: 128, ff: 256, layers: 2, heads: 4, kvHeads: 2, vocab: smallByteVocab(), seed: 3 }).writeFile(file);
    const s = summarizeModel(file);
    expect(s.config.architecture).toBe('bitnet-b1.58');
    expect(s.config.ffnActivation).toBe('relu2');
    expect(s.projectionType).toBe('I2_S');
    expect(s.tiedOutput).toBe(true);
    expect(s.config.headDim).toBe(32);
  });

  it('rejects a file whose metadata is not a BitNet model', () => {
    const file = path.join(dir, 'bad.gguf');
    const w = buildSyntheticModel({ arch: 'bitnet', quant: 'tq2_0', dim: 256, ff: 256, layers: 1, heads: 4, kvHeads: 4, vocab: smallByteVocab(), seed: 3 });
    w.metadata.delete('bitnet.block_count');
    w.writeFile(file);
    expect(() => summarizeModel(file)).toThrow(ModelConfigError);
    expect(() => summarizeModel(file)).toThrow(/'bitnet.block_count' is missing/);
  });
});
