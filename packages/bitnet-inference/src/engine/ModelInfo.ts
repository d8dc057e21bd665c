import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ChatFormat, GgufFile, type ModelConfig, type ModelSummary, type Tokenizer, createTokenizer, selectChatFormat, summarizeGguf } from '@bitnet/models';
import { InferenceError } from '../errors/InferenceError';
import type { StopIdReason } from './protocol';

/** What the engine loaded: read once from the GGUF header on the main thread. */
export interface ModelInfo {
  /** Absolute path of the file. */
  path: string;
  /** general.name, or the file name without .gguf. */
  name: string;
  /** The architecture as the file names it. */
  architecture: string;
  /** GGML type of the projection matrices (or 'mixed'). */
  quantization: string;
  parameters: number;
  contextLength: number;
  vocabSize: number;
  fileBytes: number;
  tiedOutput: boolean;
  /**
   * The chat format used with this model: the one the metadata asks for when the vocabulary has its
   * special tokens, else 'plain' (see `selectChatFormat` in @bitnet/models).
   */
  chatFormat: ChatFormat;
  /** Special token ids (undefined when the vocabulary has none); endOfGeneration: every id that ends a generation. */
  special: { bos?: number; eos?: number; eot?: number; endOfGeneration: readonly number[]; addBos: boolean };
  config: ModelConfig;
  summary: ModelSummary;
}

/**
 * The ids that end a generation and the finish reason each gives: the config's stop ids, then the
 * tokenizer's end-of-generation ids (which win where both name an id). What the model thread stops on.
 */
export function stopIdReasons(tokenizer: Tokenizer, stopTokenIds: readonly number[]): Map<number, StopIdReason> {
  const reasons = new Map<number, StopIdReason>();
  for (const id of stopTokenIds) reasons.set(id, 'stop_token');
  for (const id of tokenizer.endOfGenerationIds) reasons.set(id, id === tokenizer.eosId ? 'eos' : 'end_of_turn');
  return reasons;
}

/** Reads the header once: tokenizer, summary, chat format. Every failure is a model_load InferenceError. */
export function readModel(resolved: string): { tokenizer: Tokenizer; model: ModelInfo } {
  if (!fs.existsSync(resolved)) throw new InferenceError('model_load', `no model file at ${resolved}`, ['check the path']);
  let file: GgufFile;
  try {
    file = GgufFile.open(resolved);
  } catch (e) {
    throw new InferenceError('model_load', `cannot read ${resolved}: ${(e as Error).message}`, ['check the file with `bitnet-gguf info`'], { cause: e });
  }
  try {
    const summary = summarizeGguf(file, resolved);
    const tokenizer = createTokenizer(file.metadata);
    const base = path.basename(resolved).replace(/\.gguf$/i, '');
    const c = summary.config;
    const model: ModelInfo = {
      path: resolved,
      name: c.name ?? base,
      architecture: c.architectureName,
      quantization: summary.projectionType,
      parameters: summary.parameters,
      contextLength: c.contextLength,
      vocabSize: c.vocabSize,
      fileBytes: summary.fileBytes,
      tiedOutput: summary.tiedOutput,
      chatFormat: selectChatFormat(file.metadata, tokenizer),
      special: { bos: tokenizer.bosId, eos: tokenizer.eosId, eot: tokenizer.eotId, endOfGeneration: tokenizer.endOfGenerationIds, addBos: tokenizer.addBos },
      config: c,
      summary,
    };
    return { tokenizer, model };
  } catch (e) {
    throw new InferenceError('model_load', `${resolved} is not a model this engine runs: ${(e as Error).message}`, ['check the file with `bitnet-gguf info`'], { cause: e });
  } finally {
    file.close();
  }
}

