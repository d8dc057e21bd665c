import { kernelBackend } from '../backend/KernelBackend';
import { CheckedKernels } from './CheckedKernels';
import { createKernels } from './createKernels';

describe('createKernels', () => {
  it('returns checked kernels of the backend KernelBackend picked', () => {
    const kernels = createKernels();
    expect(kernels).toBeInstanceOf(CheckedKernels);
    expect(kernels.name).toBe(kernelBackend().name);
    if (kernels.name === 'ts') expect(kernels.isa).toBe('ts');
    else expect(['generic', 'avx2', 'avx512']).toContain(kernels.isa);
  });
});
