import { ModelConfigError } from '../errors';
import { GgufTensorInfo } from '../gguf/GgufTypes';
import { GgmlType, ggmlTypeName } from '../tensor/GgmlType';
import { ModelConfig } from './ModelConfig';

/** Types a projection (matmul) weight may have. */
export const MATMUL_TYPES: readonly GgmlType[] = [
  GgmlType.I2_S, GgmlType.TQ1_0, GgmlType.TQ2_0,
  GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K,
];
/** Types the embedding / output matrix may have. */
export const EMBEDDING_TYPES: readonly GgmlType[] = [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K];
const NORM_TYPES: readonly GgmlType[] = [GgmlType.F32];

/** The seven projection matrices of a layer, by their GGUF tensor name part. */
export const LAYER_MATMULS = ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'] as const;
/** One of `LAYER_MATMULS`. */
export type LayerMatmul = (typeof LAYER_MATMULS)[number];

/** The tensor infos of one layer. */
export interface LayerTensors {
  attnNorm: GgufTensorInfo;
  attnQ: GgufTensorInfo;
  attnK: GgufTensorInfo;
  attnV: GgufTensorInfo;
  attnSubNorm: GgufTensorInfo;
  attnOutput: GgufTensorInfo;
  ffnNorm: GgufTensorInfo;
  ffnGate: GgufTensorInfo;
  ffnUp: GgufTensorInfo;
  ffnSubNorm: GgufTensorInfo;
  ffnDown: GgufTensorInfo;
  /** Optional one-value f32 output scales (`blk.N.<matmul>.scale`), by matmul name. */
  scales: Partial<Record<LayerMatmul, GgufTensorInfo>>;
}

/** Every tensor a BitNet model needs, found and checked in a file's tensor list. */
export interface ModelTensors {
  tokenEmbedding: GgufTensorInfo;
  outputNorm: GgufTensorInfo;
  /** `output.weight`, or the token embedding when the output is tied. */
  output: GgufTensorInfo;
  tiedOutput: boolean;
  layers: LayerTensors[];
  /** The ternary (or other) type of the layer projections, when they all share one. */
  projectionType: GgmlType | 'mixed';
  /** Tensors the graph does not use. */
  unused: string[];
}

/**
 * Checks that every tensor the graph needs is present with an allowed type and the shape the
 * config implies, and groups them by layer. The error names the tensor and what is wrong.
 */
export function resolveModelTensors(config: ModelConfig, tensors: readonly GgufTensorInfo[]): ModelTensors {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const used = new Set<string>();
  const d = config.embeddingLength;
  const q = config.headCount * config.headDim;
  const kv = config.headCountKv * config.headDim;
  const ff = config.feedForwardLength;

  const need = (name: string, dims: number[], types: readonly GgmlType[], optional = false): GgufTensorInfo | undefined => {
    const t = byName.get(name);
    if (!t) {
      if (optional) return undefined;
      throw new ModelConfigError(`required tensor '${name}' is missing`);
    }
    if (!types.includes(t.type)) {
      throw new ModelConfigError(`tensor '${name}' has type ${ggmlTypeName(t.type)}; allowed: ${types.map(ggmlTypeName).join(', ')}`);
    }
    const same = t.dims.length === dims.length && t.dims.every((x, i) => x === dims[i]);
    if (!same) throw new ModelConfigError(`tensor '${name}' has shape [${t.dims.join(', ')}], expected [${dims.join(', ')}]`);
    used.add(name);
    return t;
  };

  const tokenEmbedding = need('token_embd.weight', [d, config.vocabSize], EMBEDDING_TYPES)!;
  const outputNorm = need('output_norm.weight', [d], NORM_TYPES)!;
  const explicitOutput = need('output.weight', [d, config.vocabSize], EMBEDDING_TYPES, true);
  const layers: LayerTensors[] = [];
  const projTypes = new Set<GgmlType>();
  for (let i = 0; i < config.blockCount; i++) {
    const b = `blk.${i}.`;
    const mm = (n: LayerMatmul, dims: number[]) => {
      const t = need(`${b}${n}.weight`, dims, MATMUL_TYPES)!;
      projTypes.add(t.type);
      return t;
    };
    const layer: LayerTensors = {
      attnNorm: need(`${b}attn_norm.weight`, [d], NORM_TYPES)!,
      attnQ: mm('attn_q', [d, q]),
      attnK: mm('attn_k', [d, kv]),
      attnV: mm('attn_v', [d, kv]),
      attnSubNorm: need(`${b}attn_sub_norm.weight`, [q], NORM_TYPES)!,
      attnOutput: mm('attn_output', [q, d]),
      ffnNorm: need(`${b}ffn_norm.weight`, [d], NORM_TYPES)!,
      ffnGate: mm('ffn_gate', [d, ff]),
      ffnUp: mm('ffn_up', [d, ff]),
      ffnSubNorm: need(`${b}ffn_sub_norm.weight`, [ff], NORM_TYPES)!,
      ffnDown: mm('ffn_down', [ff, d]),
      scales: {},
    };
    for (const n of LAYER_MATMULS) {
      const s = need(`${b}${n}.scale`, [1], [GgmlType.F32], true);
      if (s) layer.scales[n] = s;
    }
    layers.push(layer);
  }
  const unused = tensors.map((t) => t.name).filter((n) => !used.has(n));
  const strayLayer = unused.find((n) => /^blk\.(\d+)\./.test(n) && Number(/^blk\.(\d+)\./.exec(n)![1]) >= config.blockCount);
  if (strayLayer) {
    throw new ModelConfigError(`tensor '${strayLayer}' belongs to a layer beyond ${config.architectureName}.block_count = ${config.blockCount}`);
  }
  return {
    tokenEmbedding,
    outputNorm,
    output: explicitOutput ?? tokenEmbedding,
    tiedOutput: explicitOutput === undefined,
    layers,
    projectionType: projTypes.size === 1 ? [...projTypes][0] : 'mixed',
    unused,
  };
}
