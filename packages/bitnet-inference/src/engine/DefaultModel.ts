import * as fs from 'node:fs';
import * as path from 'node:path';

/** File name of the bundled model (in the package's models/ folder). */
export const DEFAULT_MODEL_FILE = 'bitnet-b1.58-kjv-i2_s.gguf';

/**
 * Absolute path of the model bundled with @bitnet/inference: a small BitNet b1.58 model trained on
 * the King James Bible (tools/train), I2_S weights. Resolved relative to the package, so it works
 * from src/ (tests), from dist/ (the built package) and from node_modules after an install.
 * `BITNET_DEFAULT_MODEL` overrides it.
 */
export function defaultModelPath(): string {
  const override = process.env.BITNET_DEFAULT_MODEL;
  if (override) return path.resolve(override);
  // this file lives in <package>/src/engine or <package>/dist/engine
  return path.resolve(__dirname, '..', '..', 'models', DEFAULT_MODEL_FILE);
}

/** Whether the bundled model file is present. */
export function hasDefaultModel(): boolean {
  return fs.existsSync(defaultModelPath());
}
