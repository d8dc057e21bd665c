/**
 * @bitnet/kernels/testing: hooks for tests, benchmarks and tools, kept out of the package's main
 * entry point. Built into dist/testing by the lib build but not published (the package's `files`
 * leave dist/testing out): only this repository's specs and tools import it.
 */
import { nativeAddon } from '../backend/KernelBackend';
import type { NativeIsa, ReadAheadStats } from '../native/addon';

export { nativeAddon, defaultModeAddon, resetKernelBackendForTests } from '../backend/KernelBackend';
export type { Int8Peak, NativeAddon, ReadAheadStats } from '../native/addon';
export { NativeKernels } from '../native/NativeKernels';
export { TsKernels } from '../ts/TsKernels';
export { CheckedKernels } from '../api/CheckedKernels';

/** Switches the native kernels of the whole process to `isa`; returns the previous one. */
export function setIsaForTests(isa: NativeIsa | string): NativeIsa {
  return nativeAddon().setIsaForTests(isa);
}

/**
 * The native read-ahead plan's counters; with `kb`, first sets the bytes a pool worker reads ahead
 * between kernel calls (0 turns it off) and starts the plan over.
 */
export function readAheadForTests(kb?: number): ReadAheadStats {
  return nativeAddon().readAheadForTests(kb);
}
