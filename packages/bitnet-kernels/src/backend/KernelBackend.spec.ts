import { kernelBackend, requestedKernelMode } from './KernelBackend';

describe('kernel backend selection', () => {
  it('honours the mode the test configuration asked for', () => {
    const mode = requestedKernelMode();
    const backend = kernelBackend(); // with -c cpu this throws loudly until the addon is built
    if (mode === 'native') expect(backend.name).toBe('native');
    if (mode === 'ts') expect(backend.name).toBe('ts');
    if (backend.name === 'ts') expect(backend.fallbackReason).toBeTruthy();
  });

  it('parses BITNET_KERNELS', () => {
    expect(requestedKernelMode({ BITNET_KERNELS: 'native' })).toBe('native');
    expect(requestedKernelMode({ BITNET_KERNELS: 'TS' })).toBe('ts');
    expect(requestedKernelMode({})).toBe('auto');
    expect(() => requestedKernelMode({ BITNET_KERNELS: 'gpu' })).toThrow(/not one of/);
  });
});
