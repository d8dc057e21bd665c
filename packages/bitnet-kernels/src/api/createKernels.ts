/**
 * The kernels this process should use, validated: the native addon when KernelBackend picked it,
 * the TypeScript kernels otherwise, each wrapped in CheckedKernels.
 */
import { kernelBackend, KernelUnavailableError } from '../backend/KernelBackend';
import { TsKernels } from '../ts/TsKernels';
import { CheckedKernels } from './CheckedKernels';
import type { Kernels } from './Kernels';

/** Loads ../native/NativeKernels only when the native backend is chosen (the module needs the built addon). */
function loadNativeKernels(): Kernels {
  let mod: { NativeKernels?: new () => Kernels };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require('../native/NativeKernels');
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new KernelUnavailableError(`the native backend was selected but ../native/NativeKernels could not be loaded: ${why}`, { cause });
  }
  if (typeof mod.NativeKernels !== 'function') {
    throw new KernelUnavailableError('../native/NativeKernels does not export a NativeKernels class');
  }
  return new mod.NativeKernels();
}

export function createKernels(): Kernels {
  const backend = kernelBackend();
  return new CheckedKernels(backend.name === 'native' ? loadNativeKernels() : new TsKernels());
}
