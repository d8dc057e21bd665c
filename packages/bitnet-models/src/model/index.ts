export * from './ModelConfig';
export * from './ModelTensors';
export * from './ModelSummary';
