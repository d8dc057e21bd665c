import * as fs from 'node:fs';
import * as path from 'node:path';
import type { NativeAddon } from '../native/addon';

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
  /** The loaded native addon (when name is 'native'). */
  addon?: NativeAddon;
  /** Where it was loaded from. */
  addonPath?: string;
  /** The instruction set the addon chose ('generic' | 'avx2' | 'avx512'), or 'ts'. */
  isa: string;
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

function fallBack(requested: KernelMode, reason: string): KernelBackendInfo {
  if (requested === 'native') {
    throw new KernelUnavailableError(`native kernels were required (BITNET_KERNELS=native / -c cpu) but ${reason}`);
  }
  if (!noticeShown) {
    noticeShown = true;
    process.emitWarning(`@bitnet/kernels: using the TypeScript kernels because ${reason}`, { code: 'BITNET_TS_KERNELS' });
  }
  return { name: 'ts', requested, fallbackReason: reason, isa: 'ts' };
}

/**
 * Picks the kernels once per process: `native` requires the addon and fails loudly without it,
 * `ts` forces the fallback, `auto` uses the addon when it is built and says once when it is not.
 * The addon is loaded (required) here. A BITNET_ISA the CPU cannot run is an error in every mode:
 * it was asked for explicitly.
 */
export function kernelBackend(): KernelBackendInfo {
  if (selected) return selected;
  const requested = requestedKernelMode();
  const packageRoot = path.resolve(__dirname, '../..');
  if (requested === 'ts') {
    selected = { name: 'ts', requested, fallbackReason: 'BITNET_KERNELS=ts forces the TypeScript kernels', isa: 'ts' };
    return selected;
  }
  const addonPath = findAddon(packageRoot);
  if (!addonPath) {
    selected = fallBack(requested, `the native addon is not built (looked for ${ADDON_CANDIDATES.join(', ')} in ${packageRoot})`);
    return selected;
  }
  let addon: NativeAddon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(addonPath) as NativeAddon;
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    if (/BITNET_ISA|BITNET_THREADS/.test(why)) {
      throw new KernelUnavailableError(`the native kernels cannot start: ${why}`, { cause });
    }
    selected = fallBack(requested, `the native addon ${addonPath} failed to load: ${why}`);
    return selected;
  }
  selected = { name: 'native', requested, addon, addonPath, isa: addon.selectedIsa() };
  return selected;
}

/** The loaded native addon; throws KernelUnavailableError when the TypeScript kernels are in use. */
export function nativeAddon(): NativeAddon {
  const backend = kernelBackend();
  if (!backend.addon) {
    throw new KernelUnavailableError(`the native addon is not in use: ${backend.fallbackReason ?? 'unknown reason'}`);
  }
  return backend.addon;
}

/** Forgets the cached choice (tests). */
export function resetKernelBackendForTests(): void {
  selected = undefined;
}
