import { KernelUnavailableError, kernelBackend, requestedKernelMode } from '../backend/KernelBackend';
import { defaultModeAddon, nativeAddon } from '../testing';
import { CheckedKernels } from './CheckedKernels';
import { createKernels } from './createKernels';
import { KernelArgumentError } from './KernelArgumentError';

/** The addon the default mode uses (none with -c ts). */
const addon = requestedKernelMode() === 'ts' ? undefined : defaultModeAddon();
/** Whether the addon is built and loads, whatever the default mode. */
function addonAvailable(): boolean {
  try {
    nativeAddon();
    return true;
  } catch {
    return false;
  }
}

describe('createKernels', () => {
  it('returns checked kernels of the backend KernelBackend picked', () => {
    const kernels = createKernels();
    expect(kernels).toBeInstanceOf(CheckedKernels);
    expect(kernels.name).toBe(kernelBackend().name);
    if (kernels.name === 'ts') expect(kernels.isa).toBe('ts');
    else expect(['generic', 'avx2', 'avxvnni', 'avx512', 'avx512vbmi']).toContain(kernels.isa);
  });

  it('takes the mode as an argument, whatever BITNET_KERNELS says, and never writes process.env', () => {
    const env = { ...process.env };
    const ts = createKernels({ mode: 'ts' });
    expect([ts.name, ts.isa, ts.threads]).toEqual(['ts', 'ts', 1]);
    const available = addonAvailable();
    if (available) expect(createKernels({ mode: 'native' }).name).toBe('native');
    else expect(() => createKernels({ mode: 'native' })).toThrow(KernelUnavailableError);
    expect(createKernels({ mode: 'auto' }).name).toBe(available ? 'native' : 'ts');
    expect(process.env).toEqual(env);
  });

  it('rejects unknown settings and bad values, naming them', () => {
    const bad = (settings: unknown) => {
      try {
        createKernels(settings as never);
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected a throw');
    };
    expect((bad({ thread: 2 }) as KernelArgumentError).argument).toBe('settings.thread');
    expect((bad({ threads: 0 }) as KernelArgumentError).argument).toBe('settings.threads');
    expect((bad({ threads: 1.5 }) as KernelArgumentError).argument).toBe('settings.threads');
    expect(bad({ mode: 'gpu' })).toBeInstanceOf(KernelUnavailableError);
    expect(bad({ mode: 'gpu' }).message).toMatch(/not one of native, ts, auto/);
  });

  const withAddon = addon ? it : it.skip;
  withAddon('threads: 1 gives a native pool of one thread; threads: 3 a pool of three', () => {
    const a = addon!;
    const before = a.threads();
    try {
      const k = createKernels({ mode: 'native', threads: 1 });
      expect(k.threads).toBe(1);
      expect(a.threads()).toBe(1);
      const out = new Float32Array(4);
      k.add(Float32Array.of(1, 2, 3, 4), Float32Array.of(1, 1, 1, 1), out);
      expect(Array.from(out)).toEqual([2, 3, 4, 5]);
      const k3 = createKernels({ mode: 'native', threads: 3 });
      expect(k3.threads).toBe(3);
      expect(a.threads()).toBe(3);
      // a job large enough to be split across the three threads still computes every row
      const x = Float32Array.from({ length: 1 << 16 }, (_, i) => i);
      const sum = new Float32Array(x.length);
      k3.add(x, x, sum);
      expect(sum.every((v, i) => v === 2 * i)).toBe(true);
    } finally {
      a.setThreads(before);
    }
    expect(a.threads()).toBe(before);
  });

  withAddon('the addon refuses a thread count outside 1..256, naming it', () => {
    expect(() => addon!.setThreads(0)).toThrow(/setThreads.*\bn\b/);
    expect(() => addon!.setThreads(257)).toThrow(/setThreads: n = 257/);
  });
});
