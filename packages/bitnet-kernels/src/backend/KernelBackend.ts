import * as fs from 'node:fs';
import * as path from 'node:path';

/** Which kernels to run: the native addon, the TypeScript fallback, or native when it is built. */
export type KernelMode = 'native' | 'ts' | 'auto';

export class KernelUnavailableError extends Error {
  readonly code = 'KERNELS_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KernelUnavailableError';
  }
}

export interface KernelBackendInfo {
  /** The kernels in use. */
  name: 'native' | 'ts';
  /** The mode that was asked for (BITNET_KERNELS). */
  requested: KernelMode;
  /** Why the TypeScript fallback is in use, when it is. */
  fallbackReason?: string;
}

/** Where the cmake-js build puts the addon, relative to the package root. */
const ADDON_CANDIDATES = ['build/Release/bitnet_kernels.node', 'build/Debug/bitnet_kernels.node'];

export function requestedKernelMode(env: NodeJS.ProcessEnv = process.env): KernelMode {
  const v = (env.BITNET_KERNELS ?? 'auto').trim().toLowerCase();
  if (v === 'native' || v === 'cpu') return 'native';
  if (v === 'ts' || v === 'typescript') return 'ts';
  if (v === 'auto' || v === '') return 'auto';
  throw new KernelUnavailableError(`BITNET_KERNELS='${env.BITNET_KERNELS}' is not one of native, ts, auto`);
}

function findAddon(packageRoot: string): string | undefined {
  return ADDON_CANDIDATES.map((p) => path.join(packageRoot, p)).find((p) => fs.existsSync(p));
}

let selected: KernelBackendInfo | undefined;
let noticeShown = false;

/**
 * Picks the kernels once per process: `native` requires the addon and fails loudly without it,
 * `ts` forces the fallback, `auto` uses the addon when it is built and says once when it is not.
 */
export function kernelBackend(): KernelBackendInfo {
  if (selected) return selected;
  const requested = requestedKernelMode();
  const packageRoot = path.resolve(__dirname, '../..');
  if (requested === 'ts') {
    selected = { name: 'ts', requested, fallbackReason: 'BITNET_KERNELS=ts forces the TypeScript kernels' };
    return selected;
  }
  const addon = findAddon(packageRoot);
  if (!addon) {
    const reason = `the native addon is not built (looked for ${ADDON_CANDIDATES.join(', ')} in ${packageRoot})`;
    if (requested === 'native') {
      throw new KernelUnavailableError(`native kernels were required (BITNET_KERNELS=native / -c cpu) but ${reason}`);
    }
    if (!noticeShown) {
      noticeShown = true;
      process.emitWarning(`@bitnet/kernels: using the TypeScript kernels because ${reason}`, { code: 'BITNET_TS_KERNELS' });
    }
    selected = { name: 'ts', requested, fallbackReason: reason };
    return selected;
  }
  selected = { name: 'native', requested };
  return selected;
}

/** Forgets the cached choice (tests). */
export function resetKernelBackendForTests(): void {
  selected = undefined;
}
