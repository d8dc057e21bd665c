export { InferenceError, ConfigError, ContextOverflowError, toInferenceError, type InferenceErrorType } from './InferenceError';
export { checkKnownKeys, closestName, editDistance } from './checkKeys';
