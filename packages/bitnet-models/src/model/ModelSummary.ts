import { GgufFile } from '../gguf/GgufFile';
import { ggmlTypeName } from '../tensor/GgmlType';
import { type ModelConfig, readModelConfig } from './ModelConfig';
import { resolveModelTensors } from './ModelTensors';

/** What a BitNet GGUF is, read from its header alone (no tensor data is touched). */
export interface ModelSummary {
  path: string;
  config: ModelConfig;
  /** GGML type name of the projection matrices, or 'mixed'. */
  projectionType: string;
  /** Whether the output matrix is the token embedding. */
  tiedOutput: boolean;
  /** Elements of every tensor in the file. */
  parameters: number;
  fileBytes: number;
}

/**
 * Describes an already opened GGUF; throws ModelConfigError when it is not a runnable BitNet model.
 * The caller keeps ownership of `file` (it is not closed here).
 */
export function summarizeGguf(file: GgufFile, path: string): ModelSummary {
  const config = readModelConfig(file.metadata);
  const tensors = resolveModelTensors(config, file.tensors);
  return {
    path,
    config,
    projectionType: tensors.projectionType === 'mixed' ? 'mixed' : ggmlTypeName(tensors.projectionType),
    tiedOutput: tensors.tiedOutput,
    parameters: file.tensors.reduce((s, t) => s + t.elementCount, 0),
    fileBytes: file.fileSize,
  };
}

/** Opens a GGUF, describes it (summarizeGguf) and closes it again. */
export function summarizeModel(path: string): ModelSummary {
  const file = GgufFile.open(path);
  try {
    return summarizeGguf(file, path);
  } finally {
    file.close();
  }
}
