export { kernelBackend, requestedKernelMode, resetKernelBackendForTests, KernelUnavailableError } from './backend/KernelBackend';
export type { KernelBackendInfo, KernelMode } from './backend/KernelBackend';
export type { AttentionShape, FloatMatrix, I8Activations, Kernels, Q8KActivations, TernaryMatrix } from './api/Kernels';
export { CheckedKernels } from './api/CheckedKernels';
export { KernelArgumentError } from './api/KernelArgumentError';
export { allocI8Activations, allocQ8KActivations } from './api/Activations';
export { createKernels } from './api/createKernels';
export { TsKernels } from './ts/TsKernels';
export { nearestInt, quantizeActivationsPerToken, roundHalfAwayFromZero } from './ts/ActivationQuant';
