export * from './ModelConfig';
export * from './ModelTensors';
