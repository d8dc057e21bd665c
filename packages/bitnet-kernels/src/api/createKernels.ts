/**
 * The kernels a caller should use, validated: the native addon or the TypeScript kernels, as the
 * settings ask, each wrapped in CheckedKernels. Settings come as arguments; environment variables
 * (BITNET_KERNELS, and BITNET_THREADS read by the addon itself) are only the defaults for what is
 * not passed, and nothing here writes to process.env.
 */
import { parseKernelMode, requestedKernelMode, resolveBackend } from '../backend/KernelBackend';
import type { KernelMode } from '../backend/KernelBackend';
import type { NativeAddon } from '../native/addon';
import { TsKernels } from '../ts/TsKernels';
import { CheckedKernels } from './CheckedKernels';
import { KernelArgumentError } from './KernelArgumentError';
import type { Kernels } from './Kernels';
import { describeValue } from '@bitnet/models';

/** Which kernels `createKernels` returns and how many threads they use. */
export interface KernelSettings {
  /** 'native' (required, fails without the addon), 'ts', or 'auto' (native when built). Default: BITNET_KERNELS, else 'auto'. */
  mode?: KernelMode;
  /**
   * Threads of the native pool, the calling thread included (1..256). The pool is one per process:
   * the last createKernels that passes `threads` sizes it for every kernels object. Default: the
   * addon's own choice (BITNET_THREADS, else the cores available). The TypeScript kernels run on the
   * calling thread and ignore it.
   */
  threads?: number;
}

const SETTING_KEYS: readonly string[] = ['mode', 'threads'] satisfies (keyof KernelSettings)[];
/** The largest kernel pool size accepted. */
export const MAX_KERNEL_THREADS = 256;

function checkSettings(settings: unknown): { mode: KernelMode; threads?: number } {
  if (typeof settings !== 'object' || settings === null) {
    throw new KernelArgumentError('createKernels', 'settings', `must be an object, got ${describeValue(settings)}`);
  }
  for (const key of Object.keys(settings)) {
    if (!SETTING_KEYS.includes(key)) throw new KernelArgumentError('createKernels', `settings.${key}`, `is not a setting (known: ${SETTING_KEYS.join(', ')})`);
  }
  const s = settings as KernelSettings;
  const mode = s.mode === undefined ? requestedKernelMode() : parseKernelMode(String(s.mode), 'mode');
  const t = s.threads;
  if (t !== undefined && (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > MAX_KERNEL_THREADS)) {
    throw new KernelArgumentError('createKernels', 'settings.threads', `must be an integer from 1 to ${MAX_KERNEL_THREADS}, got ${describeValue(t)}`);
  }
  return { mode, threads: t };
}

/** Loads ../native/NativeKernels only when the native backend is chosen. */
function loadNativeKernels(addon: NativeAddon): Kernels {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('../native/NativeKernels') as { NativeKernels: new (addon: NativeAddon) => Kernels };
  return new mod.NativeKernels(addon);
}

/** Checked kernels as `settings` ask (see KernelSettings); `createKernels()` takes every default. */
export function createKernels(settings: KernelSettings = {}): Kernels {
  const { mode, threads } = checkSettings(settings);
  const { addon } = resolveBackend(mode);
  if (!addon) return new CheckedKernels(new TsKernels());
  if (threads !== undefined) addon.setThreads(threads);
  return new CheckedKernels(loadNativeKernels(addon));
}
