/**
 * Where the engine obtains its kernels: `openKernels` is the one call into @bitnet/kernels (the
 * model thread's, and the in-process evaluator's).
 *
 * Interim: today's `createKernels()` takes no settings — it reads the mode from BITNET_KERNELS,
 * and the native pool sizes itself from BITNET_THREADS in the process environment when it starts.
 * Until `createKernels({ mode, threads })` exists, `kernelEnvironment` (main thread, before any
 * kernel runs) puts the settings where today's kernels look for them. Once it exists, the merge is
 * this file alone: `createKernels()` below becomes `createKernels(settings)`, and
 * `kernelEnvironment` returns `process.env` unchanged (or goes, with its two callers).
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

/** Creates the kernels for these settings and reports what runs; a pool of another size is an error. */
export function openKernels(settings: KernelSettings): OpenedKernels {
  const kernels = createKernels();
  const backend = kernelBackend();
  const threads = backend.name === 'native' ? poolThreads(kernels, backend.addon) : 1;
  if (settings.mode !== 'auto' && backend.name !== settings.mode) {
    throw new InferenceError('model_load', `the ${settings.mode} kernels were asked for but the ${backend.name} kernels run (${backend.fallbackReason ?? 'chosen earlier in this process'})`);
  }
  if (settings.threads !== undefined && backend.name === 'native' && threads !== settings.threads) {
    throw new InferenceError('model_load', `${settings.threads} kernel threads were asked for, but this process's kernel pool already runs ${threads}`, [
      'use one thread count per process',
    ]);
  }
  return { kernels, backend: backend.name, isa: kernels.isa, threads };
}

/** The native pool's size, as the native kernels report it (`threads`; CheckedKernels keeps them as `inner`), else as the addon does. */
function poolThreads(kernels: Kernels, addon: { threads(): number } | undefined): number {
  const k = kernels as Kernels & { threads?: number; inner?: { threads?: number } };
  const n = k.threads ?? k.inner?.threads ?? addon?.threads();
  if (typeof n !== 'number') throw new InferenceError('model_load', 'the native kernels do not report their thread count');
  return n;
}

/**
 * Interim (see the top of this file): the environment a model thread starts with, so that today's
 * kernels see `settings`. The native pool reads the real process environment, which only the main
 * thread can set: BITNET_THREADS is written there when a thread count is given.
 */
export function kernelEnvironment(settings: KernelSettings): NodeJS.ProcessEnv {
  if (settings.threads !== undefined) process.env.BITNET_THREADS = String(settings.threads);
  return { ...process.env, BITNET_KERNELS: settings.mode };
}
