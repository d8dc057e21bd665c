export { kernelBackend, requestedKernelMode, resetKernelBackendForTests, KernelUnavailableError } from './backend/KernelBackend';
export type { KernelBackendInfo, KernelMode } from './backend/KernelBackend';
export { quantizeActivationsPerToken, roundHalfAwayFromZero } from './ts/ActivationQuant';
