import * as kernels from './index';
import * as testing from './testing';

/** Test-only hooks: they belong to @bitnet/kernels/testing, never to the package's main entry point. */
const TEST_HOOKS = [
  'resetKernelBackendForTests',
  'setIsaForTests',
  'nativeAddon',
  'defaultModeAddon',
  'NativeKernels',
  'TsKernels',
  'CheckedKernels',
] as const;

describe('@bitnet/kernels entry points', () => {
  it('the main entry point exports no test hook', () => {
    const names = Object.keys(kernels);
    expect(names.filter((n) => (TEST_HOOKS as readonly string[]).includes(n) || /ForTests$|^native/i.test(n))).toEqual([]);
  });

  it('exports the contract helpers: createKernels, activation buffers, quantization helpers, errors, the tensor-type table', () => {
    expect(Object.keys(kernels)).toEqual(
      expect.arrayContaining([
        'createKernels',
        'allocI8Activations',
        'allocQ8KActivations',
        'allocQ8_0Activations',
        'quantizeActivationsPerToken',
        'nearestInt',
        'roundHalfAwayFromZero',
        'KernelArgumentError',
        'KernelUnavailableError',
        'TENSOR_KERNELS',
        'tensorKernel',
      ]),
    );
  });

  it('@bitnet/kernels/testing has every test hook', () => {
    expect(Object.keys(testing)).toEqual(expect.arrayContaining([...TEST_HOOKS]));
  });
});
