export * from './GgufTypes';
export { GgufMetadata, gguf, plainValue } from './GgufMetadata';
export { parseGgufHeader, type GgufHeader, type GgufReadOptions } from './GgufReader';
export { BufferSource, FileSource, type ByteSource } from './ByteSource';
export { GgufFile } from './GgufFile';
export { GgufSkippedArray, GgufStringArray, GgufStringArrayBuilder, type GgufStringList } from './GgufStringArray';
export { GgufWriter, type GgufWriterOptions, type TensorDataSource } from './GgufWriter';
