/**
 * Where the engine obtains its kernels: `openKernels` is the one call into @bitnet/kernels (the
 * model thread's, and the in-process evaluator's). The settings travel as arguments:
 * `createKernels({ mode, threads })` picks the backend and sizes the native pool; nothing is written
 * to `process.env`.
 */
import { type Kernels, createKernels, kernelBackend } from '@bitnet/kernels';
import { InferenceError } from '../errors/InferenceError';
import type { KernelSettings } from './protocol';

export interface OpenedKernels {
  kernels: Kernels;
  /** 'native' or 'ts'. */
  backend: string;
  isa: string;
  /** Threads of the kernel pool, the calling thread included (1 for the TypeScript kernels). */
  threads: number;
}

/** Creates the kernels for these settings and reports what runs. */
export function openKernels(settings: KernelSettings): OpenedKernels {
  let kernels: Kernels;
  try {
    kernels = createKernels({ mode: settings.mode, ...(settings.threads !== undefined ? { threads: settings.threads } : {}) });
  } catch (e) {
    throw new InferenceError('model_load', `cannot create the ${settings.mode} kernels: ${(e as Error).message}`, ['build the native addon, or load with kernels: "ts"'], { cause: e });
  }
  const backend = kernelBackend(settings.mode);
  return { kernels, backend: backend.name, isa: kernels.isa, threads: kernels.threads };
}
