/**
 * The server's side of the engine's prompt cache (EngineOptions.promptCacheMb): its default size,
 * chosen at start from the model and the free memory, and its /health description.
 */
import * as os from 'node:os';
import { type InferenceEngine, KvPrefixCache } from '@bitnet/inference';
import { GgufFile, type ModelConfig, readModelConfig } from '@bitnet/models';

/** The default never exceeds this many megabytes. */
export const PROMPT_CACHE_DEFAULT_CAP_MB = 1024;
/** The default never takes more than this share of the memory free at start. */
export const PROMPT_CACHE_FREE_MEMORY_SHARE = 0.25;

const MB = 1024 * 1024;

/** Bytes of keys and values (f16, every layer) of one position of the model. */
export function kvBytesPerPosition(c: Pick<ModelConfig, 'blockCount' | 'headCountKv' | 'headDim'>): number {
  return c.blockCount * 2 * c.headCountKv * c.headDim * 2;
}

/**
 * The default prompt cache in megabytes (a whole number, at least 1):
 * min(1024, 25% of the free memory, max(2, maxConcurrent) × the keys and values of a full context).
 * Enough for every slot's conversation to stay cached up to the full context (and never less than two
 * contexts, so a shared system prompt survives beside one long chat), bounded so that it cannot take
 * a large share of a small machine's memory. Without the model's shape (a header this cannot read:
 * the engine's load will say why) only the first two bounds apply.
 */
export function defaultPromptCacheMb(o: { config?: Pick<ModelConfig, 'blockCount' | 'headCountKv' | 'headDim' | 'contextLength'>; maxConcurrent: number; freeBytes: number }): number {
  let mb = Math.min(PROMPT_CACHE_DEFAULT_CAP_MB, (o.freeBytes * PROMPT_CACHE_FREE_MEMORY_SHARE) / MB);
  if (o.config) mb = Math.min(mb, (Math.max(2, o.maxConcurrent) * o.config.contextLength * kvBytesPerPosition(o.config)) / MB);
  return Math.max(1, Math.ceil(mb));
}

/** The model's shape from its GGUF header, or undefined when the header cannot be read. */
export function readConfig(modelPath: string): ModelConfig | undefined {
  try {
    const file = GgufFile.open(modelPath);
    try {
      return readModelConfig(file.metadata);
    } finally {
      file.close();
    }
  } catch {
    return undefined;
  }
}

/** The prompt cache size to load the engine with, and where it came from. */
export function resolvePromptCacheMb(modelPath: string, given: number | undefined, maxConcurrent: number): { mb: number; source: 'option' | 'default' } {
  if (given !== undefined) return { mb: given, source: 'option' };
  return { mb: defaultPromptCacheMb({ config: readConfig(modelPath), maxConcurrent, freeBytes: os.freemem() }), source: 'default' };
}

/** /health's `prompt_cache`. */
export interface PromptCacheHealth {
  enabled: boolean;
  /** 'option' (--prompt-cache-mb / BITNET_PROMPT_CACHE_MB) or 'default' (sized at start). */
  source: 'option' | 'default';
  /** The megabytes the engine was given. */
  size_mb: number;
  /** Bytes the cache may hold: whole blocks within size_mb. */
  limit_bytes: number;
  /** Bytes of block storage allocated so far. */
  bytes: number;
  /** Positions per block. */
  block_tokens: number;
  cached_blocks: number;
  /** Prompt tokens restored from the cache since start. */
  reused_tokens: number;
  evicted_blocks: number;
}

/**
 * Describes the engine's prompt cache: its counters as of the last finished sequence, or (before the
 * first one ends) the limit the engine derives from `mb`.
 */
export function promptCacheHealth(engine: InferenceEngine, mb: number, source: 'option' | 'default'): PromptCacheHealth {
  const s = engine.promptCacheStats;
  const shape = new KvPrefixCache(engine.model.config, { bytes: 0 }); // no blocks: only its block size
  const limit = s?.limitBytes ?? Math.floor(Math.floor(mb * MB) / shape.blockBytes) * shape.blockBytes;
  return {
    enabled: limit > 0,
    source,
    size_mb: mb,
    limit_bytes: limit,
    bytes: s?.bytes ?? 0,
    block_tokens: s?.blockTokens ?? shape.blockTokens,
    cached_blocks: s?.cachedBlocks ?? 0,
    reused_tokens: s?.reusedTokens ?? 0,
    evicted_blocks: s?.evictedBlocks ?? 0,
  };
}
