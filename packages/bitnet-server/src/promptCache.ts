/**
 * The server's side of the engine's prompt cache (EngineOptions.promptCacheMb): its default size,
 * chosen at start from the model and the free memory, and its /health description.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { type InferenceEngine, promptCacheLayout } from '@bitnet/inference';
import type { HealthResponse } from '@bitnet/client';

/** The default never exceeds this many megabytes. */
export const PROMPT_CACHE_DEFAULT_CAP_MB = 1024;
/** The default never takes more than this share of the memory free at start. */
export const PROMPT_CACHE_FREE_MEMORY_SHARE = 0.25;

const MB = 1024 * 1024;

/** The default's floor: small models still get a useful cache (128 blocks of the bundled model). */
export const PROMPT_CACHE_DEFAULT_FLOOR_MB = 16;

/**
 * The default prompt cache in megabytes (a whole number):
 * min(1024, 25% of the free memory, max(16, the model file's size)).
 * A cache no larger than the weights at most doubles the server's resident model memory, and a
 * model's keys and values grow with its weights; 1024 MB (on the 2B4T shape: 3.4 full 4096-token
 * contexts, at 300 MB each) and a quarter of the free memory bound it on large models and small
 * machines. Block storage is allocated as blocks are first used, so an idle cache costs nothing.
 * (Sized from the file, not the header's shape: the server reads the model only through the engine.)
 */
export function defaultPromptCacheMb(o: { modelBytes: number; freeBytes: number }): number {
  const mb = Math.min(PROMPT_CACHE_DEFAULT_CAP_MB, (o.freeBytes * PROMPT_CACHE_FREE_MEMORY_SHARE) / MB, Math.max(PROMPT_CACHE_DEFAULT_FLOOR_MB, o.modelBytes / MB));
  return Math.max(1, Math.floor(mb));
}

/** The prompt cache size to load the engine with, and where it came from. */
export function resolvePromptCacheMb(modelPath: string, given: number | undefined): { mb: number; source: 'option' | 'default' } {
  if (given !== undefined) return { mb: given, source: 'option' };
  let modelBytes = 0;
  try {
    modelBytes = fs.statSync(modelPath).size;
  } catch {
    // no file: the engine's load says so
  }
  return { mb: defaultPromptCacheMb({ modelBytes, freeBytes: os.freemem() }), source: 'default' };
}

/** /health's `prompt_cache`: the client's type of it (one definition for both sides). */
export type PromptCacheHealth = NonNullable<HealthResponse['prompt_cache']>;

/**
 * Describes the engine's prompt cache: its counters as of the last finished sequence, or (before the
 * first one ends) the limit the engine derives from `mb`.
 */
export function promptCacheHealth(engine: InferenceEngine, mb: number, source: 'option' | 'default'): PromptCacheHealth {
  const s = engine.promptCacheStats;
  const layout = promptCacheLayout(engine.model.config, Math.floor(mb * MB)); // the engine's own sizing of `mb`
  const limit = s?.limitBytes ?? layout.limitBytes;
  return {
    enabled: limit > 0,
    source,
    size_mb: mb,
    limit_bytes: limit,
    bytes: s?.bytes ?? 0,
    block_tokens: s?.blockTokens ?? layout.blockTokens,
    cached_blocks: s?.cachedBlocks ?? 0,
    used_blocks: s?.usedBlocks ?? 0,
    reused_tokens: s?.reusedTokens ?? 0,
    evicted_blocks: s?.evictedBlocks ?? 0,
  };
}
