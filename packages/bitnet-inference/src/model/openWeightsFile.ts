import { GgufFile, type GgufReadOptions } from '@bitnet/models';
import { type KernelMode, mapFile } from '@bitnet/kernels';

/**
 * Opens a GGUF file for loadBitnetWeights. The header and every tensor's placement are parsed and
 * checked first, through a file descriptor (GgufFile.open), so a truncated or malformed file fails
 * with the same GgufFormatError as ever before anything is mapped. Then, when `mode` runs the
 * native kernels, the file is mapped read-only and tensor data become views into the mapping: the
 * matrices used in their file layout cost no private memory (their pages are the page cache's) and
 * stay mapped as long as any of them is reachable. With the TypeScript kernels the file is read as
 * before (one private buffer per tensor).
 *
 * `readOptions` go to the header parser: a caller that needs only the weights passes
 * WEIGHTS_ONLY_READ (the tokenizer's arrays are then checked but not kept).
 */
export function openWeightsFile(modelPath: string, mode: KernelMode, readOptions?: GgufReadOptions): GgufFile {
  const file = GgufFile.open(modelPath, readOptions);
  try {
    const image = mapFile(modelPath, mode);
    if (image) file.useImage(new Uint8Array(image));
    return file;
  } catch (e) {
    file.close();
    throw e;
  }
}

/**
 * Read options for a caller that builds no tokenizer (the engine's worker): the `tokenizer.ggml.*`
 * arrays (token texts, types, scores, merges: ~400k values for LLaMA-3) are validated but not kept.
 * The model config still gets the vocabulary size from the skipped token array's length.
 */
export const WEIGHTS_ONLY_READ: GgufReadOptions = { skipArrays: (key) => key.startsWith('tokenizer.ggml.') };
