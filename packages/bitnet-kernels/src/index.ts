/**
 * @bitnet/kernels: the Kernels contract, createKernels (the only way to get kernels: always
 * argument-checked), the activation buffers they take, and the errors they throw. Test hooks (the
 * unchecked implementations, the raw addon, the backend reset, the ISA override) are in
 * @bitnet/kernels/testing, never here.
 */
export type { AttentionCall, AttentionShape, FloatMatrix, I8Activations, I8rMatrix, Kernels, KvShape, Q8_0Activations, Q8KActivations, TernaryMatrix } from './api/Kernels';
export { keyIndex, kvBlockElements, kvBlockPositions, valueIndex } from './api/KvLayout';
export { createKernels, MAX_KERNEL_THREADS } from './api/createKernels';
export type { KernelSettings } from './api/createKernels';
export { allocI8Activations, allocQ8_0Activations, allocQ8KActivations } from './api/Activations';
export { nearestInt, quantizeActivationsPerToken, roundHalfAwayFromZero } from './ts/ActivationQuant';
export { argmax } from './ts/Argmax';
export { expWeight, sumExp, weighLogits } from './ts/SamplingWeights';
export { KernelArgumentError } from './api/KernelArgumentError';
export { KernelUnavailableError, kernelBackend, requestedKernelMode, cpuFeatures, selectedIsa } from './backend/KernelBackend';
export type { KernelBackendInfo, KernelMode } from './backend/KernelBackend';
export { FileMappingError, mapFile } from './backend/FileMapping';
export { type PageAllocateOptions, type PageMemory, pageMemory } from './backend/PageMemory';
export type { CpuFeatures, NativeIsa } from './native/addon';
export { FLOAT_TYPES, TENSOR_KERNELS, TENSOR_TYPES, TERNARY_TYPES, tensorKernel } from './api/TensorKernels';
export type { FloatType, MatmulKernelName, TensorKernel, TernaryType } from './api/TensorKernels';
export { ACTIVATION_FORMATS } from './api/ActivationFormats';
export type { ActivationFormat, ActivationFormatSpec, PreparedActivations } from './api/ActivationFormats';
