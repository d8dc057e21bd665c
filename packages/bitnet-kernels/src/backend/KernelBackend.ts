import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CpuFeatures, NativeAddon, NativeIsa } from '../native/addon';

/** Which kernels to run: the native addon, the TypeScript fallback, or native when it is built. */
export type KernelMode = 'native' | 'ts' | 'auto';

/** Thrown when the native kernels are required but cannot be loaded. */
export class KernelUnavailableError extends Error {
  readonly code = 'KERNELS_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KernelUnavailableError';
  }
}

/** Which backend was chosen, and why. */
export interface KernelBackendInfo {
  /** The kernels in use. */
  name: 'native' | 'ts';
  /** The mode that was asked for (the argument, else BITNET_KERNELS, else 'auto'). */
  requested: KernelMode;
  /** Why the TypeScript fallback is in use, when it is. */
  fallbackReason?: string;
  /** Where the native addon was loaded from (when name is 'native'). */
  addonPath?: string;
  /** The instruction set the addon chose ('generic' | 'avx2' | 'avxvnni' | 'avx512' | 'avx512vbmi'), or 'ts'. */
  isa: string;
}

/** Where the cmake-js build puts the addon, relative to the package root. */
const ADDON_CANDIDATES = ['build/Release/bitnet_kernels.node', 'build/Debug/bitnet_kernels.node'];

/** Reads a mode name; `source` says where it came from, for the error. */
export function parseKernelMode(value: string, source = 'the kernel mode'): KernelMode {
  const v = value.trim().toLowerCase();
  if (v === 'native' || v === 'cpu') return 'native';
  if (v === 'ts' || v === 'typescript') return 'ts';
  if (v === 'auto' || v === '') return 'auto';
  throw new KernelUnavailableError(`${source}='${value}' is not one of native, ts, auto`);
}

/** The default mode when none is passed: BITNET_KERNELS (read, never written), else 'auto'. */
export function requestedKernelMode(env: NodeJS.ProcessEnv = process.env): KernelMode {
  return parseKernelMode(env.BITNET_KERNELS ?? 'auto', 'BITNET_KERNELS');
}

/** The outcome of trying to load the addon, once per process (it does not depend on the mode). */
interface AddonLoad {
  addon?: NativeAddon;
  addonPath?: string;
  /** Why there is no addon. */
  reason?: string;
  /** A load failure that is an error in every mode (a BITNET_ISA or BITNET_THREADS the addon refused). */
  fatal?: KernelUnavailableError;
}

let loaded: AddonLoad | undefined;
let noticeShown = false;

function loadAddon(): AddonLoad {
  if (loaded) return loaded;
  const packageRoot = path.resolve(__dirname, '../..');
  const addonPath = ADDON_CANDIDATES.map((p) => path.join(packageRoot, p)).find((p) => fs.existsSync(p));
  if (!addonPath) {
    loaded = { reason: `the native addon is not built (looked for ${ADDON_CANDIDATES.join(', ')} in ${packageRoot})` };
    return loaded;
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = { addon: require(addonPath) as NativeAddon, addonPath };
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    loaded = /BITNET_ISA|BITNET_THREADS/.test(why)
      ? { fatal: new KernelUnavailableError(`the native kernels cannot start: ${why}`, { cause }) }
      : { reason: `the native addon ${addonPath} failed to load: ${why}` };
  }
  return loaded;
}

/** The backend for `mode` and, when it is native, the addon behind it. */
export function resolveBackend(mode: KernelMode): { info: KernelBackendInfo; addon?: NativeAddon } {
  if (mode === 'ts') {
    return { info: { name: 'ts', requested: mode, fallbackReason: 'the TypeScript kernels were asked for (mode ts)', isa: 'ts' } };
  }
  const load = loadAddon();
  if (load.fatal) throw load.fatal;
  if (load.addon) {
    return { info: { name: 'native', requested: mode, addonPath: load.addonPath, isa: load.addon.selectedIsa() }, addon: load.addon };
  }
  const reason = load.reason ?? 'unknown reason';
  if (mode === 'native') {
    throw new KernelUnavailableError(`native kernels were required (mode native, BITNET_KERNELS=native or -c cpu) but ${reason}`);
  }
  if (!noticeShown) {
    noticeShown = true;
    process.emitWarning(`@bitnet/kernels: using the TypeScript kernels because ${reason}`, { code: 'BITNET_TS_KERNELS' });
  }
  return { info: { name: 'ts', requested: mode, fallbackReason: reason, isa: 'ts' } };
}

/**
 * Which kernels `mode` (default: BITNET_KERNELS, else 'auto') gives in this process: `native`
 * requires the addon and fails loudly without it, `ts` forces the fallback, `auto` uses the addon
 * when it is built and says once when it is not. The addon is loaded at most once per process. A
 * BITNET_ISA or BITNET_THREADS the addon refuses is an error in every mode but ts: it was asked for.
 */
export function kernelBackend(mode: KernelMode = requestedKernelMode()): KernelBackendInfo {
  return resolveBackend(mode).info;
}

/** The loaded native addon, whatever the default mode says; throws KernelUnavailableError when it is not available. */
export function nativeAddon(): NativeAddon {
  const load = loadAddon();
  if (load.fatal) throw load.fatal;
  if (!load.addon) throw new KernelUnavailableError(`the native addon is not available: ${load.reason ?? 'unknown reason'}`);
  return load.addon;
}

/** The addon the default mode uses, or undefined when that mode runs the TypeScript kernels. */
export function defaultModeAddon(): NativeAddon | undefined {
  return resolveBackend(requestedKernelMode()).addon;
}

/** What cpuid + xgetbv found, or undefined when the default mode runs the TypeScript kernels. */
export function cpuFeatures(): CpuFeatures | undefined {
  return defaultModeAddon()?.cpuFeatures();
}

/** The instruction set of the default mode's kernels: 'generic' | 'avx2' | 'avxvnni' | 'avx512' | 'avx512vbmi', or 'ts'. */
export function selectedIsa(): NativeIsa | 'ts' {
  return defaultModeAddon()?.selectedIsa() ?? 'ts';
}

/** Forgets the addon load and the fallback notice (tests). A loaded addon stays loaded in Node; it is required again. */
export function resetKernelBackendForTests(): void {
  loaded = undefined;
  noticeShown = false;
}
