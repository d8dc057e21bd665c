import { kernelBackend, KernelUnavailableError, parseKernelMode, requestedKernelMode } from './KernelBackend';

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

  it('takes the mode as an argument: ts never loads the addon, the default comes from BITNET_KERNELS', () => {
    expect(kernelBackend('ts')).toEqual({ name: 'ts', requested: 'ts', fallbackReason: expect.any(String), isa: 'ts' });
    expect(kernelBackend().requested).toBe(requestedKernelMode());
    expect(parseKernelMode(' CPU ')).toBe('native');
    expect(() => parseKernelMode('gpu', 'mode')).toThrow(KernelUnavailableError);
    expect(() => parseKernelMode('gpu', 'mode')).toThrow("mode='gpu' is not one of native, ts, auto");
  });

  it('reports no addon object in the public backend info', () => {
    expect(Object.keys(kernelBackend())).not.toContain('addon');
  });
});
