import { MetadataError, ModelConfigError } from '../errors';
import { GgufMetadata } from '../gguf/GgufMetadata';
import { describeValue } from '../describeValue';

/** The two BitNet graph families. */
export type BitnetArchitecture = 'bitnet-b1.58' | 'bitnet';

/** Architecture names found in `general.architecture`, mapped to the family they run as. */
export const ARCHITECTURE_ALIASES: Readonly<Record<string, BitnetArchitecture>> = {
  'bitnet-b1.58': 'bitnet-b1.58',
  'bitnet-25': 'bitnet-b1.58',
  bitnet: 'bitnet',
};

/** The activation of the feed-forward gate: squared ReLU (BitNet b1.58) or SiLU. */
export type FfnActivation = 'relu2' | 'silu';
/** How activations are quantized to int8 before a ternary matmul. */
export type ActivationQuantization = 'per-token' | 'q8k-block';

/** A model's hyperparameters, read from the GGUF metadata. */
export interface ModelConfig {
  /** Family the graph follows. */
  architecture: BitnetArchitecture;
  /** Name as written in the file (`bitnet-25` runs as `bitnet-b1.58`); metadata keys use it as prefix. */
  architectureName: string;
  name?: string;
  contextLength: number;
  embeddingLength: number;
  blockCount: number;
  feedForwardLength: number;
  headCount: number;
  headCountKv: number;
  headDim: number;
  ropeFreqBase: number;
  ropeDimensionCount: number;
  rmsNormEps: number;
  vocabSize: number;
  /** ReLU² for bitnet-b1.58, SiLU for bitnet. */
  ffnActivation: FfnActivation;
  /** Per token (bitnet.cpp) for bitnet-b1.58, Q8_K blocks of 256 (llama.cpp) for bitnet. */
  activationQuantization: ActivationQuantization;
}

const DEFAULT_ROPE_BASE = 10000;
const DEFAULT_RMS_EPS = 1e-5;
const DEFAULT_CONTEXT = 2048;

/**
 * Reads the hyperparameters of a BitNet model from GGUF metadata, checking each for range and
 * consistency. Errors name the metadata key at fault.
 */
export function readModelConfig(md: GgufMetadata): ModelConfig {
  const architectureName = md.optString('general.architecture');
  if (architectureName === undefined) throw new ModelConfigError(`metadata key 'general.architecture' is missing`, 'general.architecture');
  const architecture = ARCHITECTURE_ALIASES[architectureName];
  if (!architecture) {
    throw new ModelConfigError(
      `architecture '${architectureName}' is not a BitNet architecture; supported: ${Object.keys(ARCHITECTURE_ALIASES).join(', ')}`,
      'general.architecture',
    );
  }
  const p = architectureName;
  const positive = (suffix: string, fallback?: number): number => {
    const key = `${p}.${suffix}`;
    let v: number | undefined;
    try {
      v = md.optNumber(key);
    } catch (e) {
      throw new ModelConfigError((e as MetadataError).message, key);
    }
    if (v === undefined) {
      if (fallback !== undefined) return fallback;
      throw new ModelConfigError(`metadata key '${key}' is missing`, key);
    }
    if (!(v > 0) || !Number.isFinite(v)) throw new ModelConfigError(`metadata '${key}' must be positive, got ${describeValue(v)}`, key);
    return v;
  };
  const integer = (suffix: string, fallback?: number): number => {
    const v = positive(suffix, fallback);
    if (!Number.isInteger(v) || v > 2 ** 31) throw new ModelConfigError(`metadata '${p}.${suffix}' must be an integer, got ${describeValue(v)}`, `${p}.${suffix}`);
    return v;
  };

  const embeddingLength = integer('embedding_length');
  const headCount = integer('attention.head_count');
  const headCountKv = integer('attention.head_count_kv', headCount);
  if (embeddingLength % headCount !== 0) {
    throw new ModelConfigError(`${p}.embedding_length ${embeddingLength} is not divisible by ${p}.attention.head_count ${headCount}`, `${p}.attention.head_count`);
  }
  if (headCount % headCountKv !== 0) {
    throw new ModelConfigError(`${p}.attention.head_count ${headCount} is not a multiple of ${p}.attention.head_count_kv ${headCountKv}`, `${p}.attention.head_count_kv`);
  }
  const headDim = embeddingLength / headCount;
  const ropeDimensionCount = integer('rope.dimension_count', headDim);
  if (ropeDimensionCount > headDim || ropeDimensionCount % 2 !== 0) {
    throw new ModelConfigError(`${p}.rope.dimension_count ${ropeDimensionCount} must be even and at most the head size ${headDim}`, `${p}.rope.dimension_count`);
  }
  // only the token count is needed (the array may have been skipped by the reader)
  const tokenCount = md.optStringArrayLength('tokenizer.ggml.tokens');
  const vocabSize = integer('vocab_size', tokenCount ?? 0);
  if (tokenCount !== undefined && tokenCount !== vocabSize) {
    throw new ModelConfigError(`${p}.vocab_size ${vocabSize} disagrees with the ${tokenCount} tokens of tokenizer.ggml.tokens`, `${p}.vocab_size`);
  }
  return {
    architecture,
    architectureName,
    name: md.optString('general.name'),
    contextLength: integer('context_length', DEFAULT_CONTEXT),
    embeddingLength,
    blockCount: integer('block_count'),
    feedForwardLength: integer('feed_forward_length'),
    headCount,
    headCountKv,
    headDim,
    ropeFreqBase: positive('rope.freq_base', DEFAULT_ROPE_BASE),
    ropeDimensionCount,
    rmsNormEps: positive('attention.layer_norm_rms_epsilon', DEFAULT_RMS_EPS),
    vocabSize,
    ffnActivation: architecture === 'bitnet-b1.58' ? 'relu2' : 'silu',
    activationQuantization: architecture === 'bitnet-b1.58' ? 'per-token' : 'q8k-block',
  };
}
