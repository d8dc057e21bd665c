import { ModelConfigError } from '../errors';
import { GgufFile } from '../gguf/GgufFile';
import { gguf } from '../gguf/GgufMetadata';
import { GgmlType } from '../tensor/GgmlType';
import { buildSyntheticModel, SyntheticModelOptions } from '../synthetic/SyntheticModel';
import { smallByteVocab } from '../synthetic/SyntheticVocab';
import { readModelConfig } from './ModelConfig';
import { resolveModelTensors } from './ModelTensors';

const base: SyntheticModelOptions = { arch: 'bitnet-b1.58', quant: 'i2_s', dim: 256, ff: 512, layers: 2, heads: 8, kvHeads: 2, vocab: smallByteVocab(), seed: 1 };

function open(opts: Partial<SyntheticModelOptions>, edit?: (w: ReturnType<typeof buildSyntheticModel>) => void): GgufFile {
  const w = buildSyntheticModel({ ...base, ...opts });
  edit?.(w);
  return GgufFile.fromBuffer(w.toBuffer());
}

describe('model config', () => {
  it.each([
    ['bitnet-b1.58', 'i2_s', 'relu2', 'per-token', GgmlType.I2_S],
    ['bitnet-25', 'i2_s', 'relu2', 'per-token', GgmlType.I2_S],
    ['bitnet', 'tq2_0', 'silu', 'q8k-block', GgmlType.TQ2_0],
    ['bitnet', 'tq1_0', 'silu', 'q8k-block', GgmlType.TQ1_0],
  ] as const)('%s / %s reads every hyperparameter', (arch, quant, act, aq, type) => {
    const f = open({ arch, quant, contextLength: 512 });
    const c = readModelConfig(f.metadata);
    expect(c).toMatchObject({
      architecture: arch === 'bitnet' ? 'bitnet' : 'bitnet-b1.58',
      architectureName: arch,
      contextLength: 512,
      embeddingLength: 256,
      blockCount: 2,
      feedForwardLength: 512,
      headCount: 8,
      headCountKv: 2,
      headDim: 32,
      ropeDimensionCount: 32,
      ropeFreqBase: 500000,
      vocabSize: smallByteVocab().tokens.length,
      ffnActivation: act,
      activationQuantization: aq,
    });
    expect(c.rmsNormEps).toBeCloseTo(1e-5, 10);
    const t = resolveModelTensors(c, f.tensors);
    expect(t.projectionType).toBe(type);
    expect(t.tiedOutput).toBe(true);
    expect(t.output).toBe(t.tokenEmbedding);
    expect(t.layers).toHaveLength(2);
    expect(Object.keys(t.layers[0].scales).length).toBe(arch === 'bitnet' ? 7 : 0);
    expect(t.unused).toEqual([]);
  });

  it('uses a separate output matrix when present', () => {
    const f = open({ outputType: GgmlType.Q6_K });
    const t = resolveModelTensors(readModelConfig(f.metadata), f.tensors);
    expect(t.tiedOutput).toBe(false);
    expect(t.output.name).toBe('output.weight');
  });

  it.each([
    ['missing architecture', (w: any) => w.metadata.delete('general.architecture'), /'general.architecture' is missing/],
    ['llama architecture', (w: any) => w.set('general.architecture', gguf.str('llama')), /'llama' is not a BitNet architecture/],
    ['missing block count', (w: any) => w.metadata.delete('bitnet-b1.58.block_count'), /'bitnet-b1.58.block_count' is missing/],
    ['mistyped embedding length', (w: any) => w.set('bitnet-b1.58.embedding_length', gguf.str('256')), /'bitnet-b1.58.embedding_length' must be a number/],
    ['zero heads', (w: any) => w.set('bitnet-b1.58.attention.head_count', gguf.u32(0)), /head_count' must be positive/],
    ['heads not dividing dim', (w: any) => w.set('bitnet-b1.58.attention.head_count', gguf.u32(7)), /not divisible by/],
    ['kv heads not dividing heads', (w: any) => w.set('bitnet-b1.58.attention.head_count_kv', gguf.u32(3)), /not a multiple of/],
    ['vocab disagreement', (w: any) => w.set('bitnet-b1.58.vocab_size', gguf.u32(7)), /disagrees/],
  ])('%s is a ModelConfigError naming the key', (_n, edit, msg) => {
    const f = open({}, edit);
    expect(() => readModelConfig(f.metadata)).toThrow(ModelConfigError);
    expect(() => readModelConfig(f.metadata)).toThrow(msg);
  });

  function tensorsWith(edit: (tensors: any[]) => void) {
    const f = open({});
    const tensors = f.tensors.map((t) => ({ ...t, dims: [...t.dims] }));
    edit(tensors);
    return () => resolveModelTensors(readModelConfig(f.metadata), tensors);
  }

  it('names a missing tensor', () => {
    expect(tensorsWith((ts) => ts.splice(ts.findIndex((t) => t.name === 'blk.1.ffn_down.weight'), 1))).toThrow(
      /required tensor 'blk.1.ffn_down.weight' is missing/,
    );
  });
  it('names a tensor of the wrong shape', () => {
    expect(tensorsWith((ts) => (ts.find((t) => t.name === 'blk.0.attn_k.weight').dims = [256, 256]))).toThrow(
      /'blk.0.attn_k.weight' has shape \[256, 256\], expected \[256, 64\]/,
    );
  });
  it('names a tensor of a type that cannot be used there', () => {
    expect(tensorsWith((ts) => (ts.find((t) => t.name === 'output_norm.weight').type = GgmlType.F16))).toThrow(
      /'output_norm.weight' has type F16; allowed: F32/,
    );
    expect(tensorsWith((ts) => (ts.find((t) => t.name === 'token_embd.weight').type = GgmlType.TQ2_0))).toThrow(/'token_embd.weight' has type TQ2_0/);
  });
  it('rejects layers beyond block_count', () => {
    expect(tensorsWith((ts) => ts.push({ ...ts.find((t) => t.name === 'blk.0.attn_norm.weight'), name: 'blk.5.attn_norm.weight' }))).toThrow(
      /'blk.5.attn_norm.weight' belongs to a layer beyond/,
    );
  });
});
