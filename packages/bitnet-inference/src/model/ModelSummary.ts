import { GgufFile, ModelConfig, ggmlTypeName, readModelConfig, resolveModelTensors } from '@bitnet/models';

export interface ModelSummary {
  path: string;
  config: ModelConfig;
  projectionType: string;
  tiedOutput: boolean;
  parameters: number;
  fileBytes: number;
}

/** Opens a GGUF, checks it is a runnable BitNet model and describes it (used by /health and the CLIs). */
export function summarizeModel(path: string): ModelSummary {
  const file = GgufFile.open(path);
  try {
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
  } finally {
    file.close();
  }
}
