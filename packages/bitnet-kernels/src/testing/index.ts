/**
 * @bitnet/kernels/testing: hooks for tests, benchmarks and tools, kept out of the package's main
 * entry point. Built into dist/testing by the lib build but not published (the package's `files`
 * leave dist/testing out): only this repository's specs and tools import it.
 */
import { nativeAddon } from '../backend/KernelBackend';
import type { NativeIsa } from '../native/addon';

export { nativeAddon, defaultModeAddon, resetKernelBackendForTests } from '../backend/KernelBackend';
export type { NativeAddon } from '../native/addon';
export { NativeKernels } from '../native/NativeKernels';
export { TsKernels } from '../ts/TsKernels';
export { CheckedKernels } from '../api/CheckedKernels';

/** Switches the native kernels of the whole process to `isa`; returns the previous one. */
export function setIsaForTests(isa: NativeIsa | string): NativeIsa {
  return nativeAddon().setIsaForTests(isa);
}
