/**
 * The bandwidth roofline of decode: a decode step must read its weights and the KV cache once, so
 * it cannot run faster than read bandwidth / bytes read per token. Our engine reports its weight
 * bytes per step (engine.loadInfo.decodeBytesPerToken); for llama.cpp the same rule is applied to
 * the file's tensor list, read from the GGUF header.
 */
import { GgufFile, GgufTensorInfo, readModelConfig } from '@bitnet/models';
import type { ModelConfig } from '@bitnet/models';

/** What one decode step reads, apart from the KV cache's growth. */
export interface DecodeBytes {
  /** Weight bytes read per step. */
  weightBytesPerToken: number;
  /** KV cache bytes read per position attended (keys and values, f16). */
  kvBytesPerPosition: number;
}

/** Keys and values of every layer and KV head at one position, f16 (both engines' cache type). */
export function kvBytesPerPosition(c: Pick<ModelConfig, 'blockCount' | 'headCountKv' | 'headDim'>): number {
  return 2 * c.blockCount * c.headCountKv * c.headDim * 2;
}

/**
 * Weight bytes one decode step reads from a file's tensors as stored: all of them, except that the
 * token-embedding table counts one row unless there is no separate output matrix (tied: the table
 * is the output matrix and is read whole).
 */
export function tensorDecodeBytes(tensors: readonly GgufTensorInfo[]): number {
  const tied = !tensors.some((t) => t.name === 'output.weight');
  return tensors.reduce((sum, t) => sum + (t.name === 'token_embd.weight' && !tied ? t.byteSize / t.dims[1] : t.byteSize), 0);
}

/** The decode bytes of a GGUF file as stored (llama.cpp reads the file's tensors as they are). */
export function fileDecodeBytes(path: string): DecodeBytes {
  const f = GgufFile.open(path);
  try {
    return { weightBytesPerToken: tensorDecodeBytes(f.tensors), kvBytesPerPosition: kvBytesPerPosition(readModelConfig(f.metadata)) };
  } finally {
    f.close();
  }
}

/**
 * Mean number of positions the timed decode steps attend to: decode is timed from the first token
 * to the last, so the steps producing tokens 2..N run, attending to prompt + 1 .. prompt + N − 1
 * positions (mean prompt + N/2).
 */
export function meanDecodePositions(promptTokens: number, newTokens: number): number {
  return promptTokens + newTokens / 2;
}

/** Bytes read per decode step at a mean context of `positions`. */
export function bytesPerDecodeStep(d: DecodeBytes, positions: number): number {
  return d.weightBytesPerToken + d.kvBytesPerPosition * positions;
}

/** Tokens per second a decode step reading `bytes` could reach at `bandwidthGBs`; NaN when unknown. */
export function rooflineTokS(bandwidthGBs: number | undefined, bytes: number): number {
  if (bandwidthGBs === undefined || !Number.isFinite(bandwidthGBs) || !(bytes > 0)) return NaN;
  return (bandwidthGBs * 1e9) / bytes;
}
