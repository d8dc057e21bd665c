/**
 * What the engine-level bench tools (decode-profile, sampling-step, isa-decode) share: their command
 * line (one model file and `--flag value` pairs) and loading a model's weights onto the native kernels.
 */
import { type Kernels, createKernels, kernelBackend, pageMemory } from '@bitnet/kernels';
import { type BitnetWeights, WEIGHTS_ONLY_READ, loadBitnetWeights, openWeightsFile } from '@bitnet/inference';

/**
 * The model file (the one positional argument) and the value of each `--flag value` pair; a flag not
 * in `flags`, a flag without a value, a second positional argument or no file throws, with `usage`.
 */
export function readBenchArgs(argv: readonly string[], flags: readonly string[], usage: string): { file: string; values: Map<string, string> } {
  let file = '';
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      if (!flags.includes(a)) throw new Error(`unknown argument ${a} (usage: ${usage})`);
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      values.set(a, v);
    } else if (!file) file = a;
    else throw new Error(`unknown argument ${a} (usage: ${usage})`);
  }
  if (!file) throw new Error(`usage: ${usage}`);
  return { file, values };
}

/** A flag's value as an integer ≥ 1 (or `fallback` when absent). */
export function positiveInt(values: Map<string, string>, flag: string, fallback: number): number {
  const raw = values.get(flag);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${flag}: an integer ≥ 1, got ${raw}`);
  return v;
}

/** A model's weights on fresh native kernels (mapped, the file closed after loading); `tool` names the caller in errors. */
export function loadNative(path: string, tool: string): { kernels: Kernels; weights: BitnetWeights } {
  if (kernelBackend().name !== 'native') throw new Error(`${tool} needs the native kernels (the addon is not built)`);
  const file = openWeightsFile(path, 'native', WEIGHTS_ONLY_READ);
  try {
    const kernels = createKernels({ mode: 'native' });
    return { kernels, weights: loadBitnetWeights(file, { kernels, memory: pageMemory('native') }) };  // as the engine holds them
  } finally {
    file.close();
  }
}

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
