/** An argument given to a kernel is wrong: a size, a length, a type, an id, a shape. */
export class KernelArgumentError extends RangeError {
  readonly code = 'BAD_KERNEL_ARGUMENT';

  /**
   * @param kernel   the kernel called, e.g. 'matmulI2sI8'
   * @param argument the argument at fault, e.g. 'w.data' or 'shape.kvHeads'
   * @param problem  what is wrong with it
   */
  constructor(
    readonly kernel: string,
    readonly argument: string,
    problem: string,
  ) {
    super(`${kernel}: ${argument} ${problem}`);
    this.name = 'KernelArgumentError';
  }
}
