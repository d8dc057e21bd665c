/** Allocation of the int8 activation buffers the ternary kernels take. */
import { checkSize, fail } from './argumentChecks';
import type { I8Activations, Q8_0Activations, Q8KActivations } from './Kernels';

/** Per-token int8 activations (I2_S) for `rows` tokens of `cols` features. */
export function allocI8Activations(rows: number, cols: number): I8Activations {
  checkSize('allocI8Activations', 'rows', rows);
  checkSize('allocI8Activations', 'cols', cols);
  return { rows, cols, qs: new Int8Array(rows * cols), scales: new Float32Array(rows), sums: new Int32Array(rows) };
}

/** Q8_K activations (TQ1_0 / TQ2_0) for `rows` tokens of `cols` features, cols a multiple of 256. */
export function allocQ8KActivations(rows: number, cols: number): Q8KActivations {
  checkSize('allocQ8KActivations', 'rows', rows);
  checkSize('allocQ8KActivations', 'cols', cols);
  if (cols % 256 !== 0) fail('allocQ8KActivations', 'cols', `${cols} is not a multiple of the Q8_K block size 256`);
  return {
    rows,
    cols,
    qs: new Int8Array(rows * cols),
    d: new Float32Array((rows * cols) / 256),
    bsums: new Int16Array((rows * cols) / 16),
  };
}

/** Q8_0 activations (Q8_0 weights) for `rows` tokens of `cols` features, cols a multiple of 32. */
export function allocQ8_0Activations(rows: number, cols: number): Q8_0Activations {
  checkSize('allocQ8_0Activations', 'rows', rows);
  checkSize('allocQ8_0Activations', 'cols', cols);
  if (cols % 32 !== 0) fail('allocQ8_0Activations', 'cols', `${cols} is not a multiple of the Q8_0 block size 32`);
  return { rows, cols, qs: new Int8Array(rows * cols), d: new Float32Array((rows * cols) / 32) };
}
