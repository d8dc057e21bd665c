/**
 * One table of the weight types the kernels multiply, keyed by ggml's own type ids: the TS mirror
 * of the addon's C++ traits table. Each row says how big a block is, which activation format the
 * type is multiplied with (the one its reference engine uses), and which kernel does the product.
 * The matrix types of the Kernels contract (TernaryMatrix['type'], FloatMatrix['type']) and the
 * type lists of the argument checks are derived from these rows. Adding a weight type means: a row
 * here, its kernels (TS and native) and their tests; callers such as the inference package's
 * Linear only look types up.
 */
import { GgmlType, ggmlTypeName } from '@bitnet/models';
import type { PreparedActivations } from './ActivationFormats';
import type { FloatMatrix, I8Activations, Kernels, Q8KActivations, TernaryMatrix } from './Kernels';
import { TENSOR_TYPES, type TensorTypeRow } from './TensorTypes';

export { FLOAT_TYPES, TENSOR_TYPES, TERNARY_TYPES, type ActivationFormat, type FloatType, type MatmulKernelName, type TensorTypeRow, type TernaryType } from './TensorTypes';

/** A tensor type's row of the type table, with the kernel that multiplies it. */
export interface TensorKernel extends TensorTypeRow {
  /**
   * out (rows × w.rows) = W · a, with `a` prepared in this type's activation format for `rows` rows;
   * then times `scale` when it is given and not 1, bit for bit as the `scale` kernel would do it: the
   * integer kernels take it as their output scale (one call), matmulFloat is followed by `scale`.
   */
  matmul(kernels: Kernels, w: TernaryMatrix | FloatMatrix, a: PreparedActivations, rows: number, out: Float32Array, scale?: number): void;
}

type IntegerMatmul = (w: TernaryMatrix | FloatMatrix, a: PreparedActivations, out: Float32Array, scale?: number) => void;

function floatMatmul(k: Kernels, w: TernaryMatrix | FloatMatrix, a: PreparedActivations, rows: number, out: Float32Array, scale?: number): void {
  k.matmulFloat(w as FloatMatrix, a as Float32Array, rows, out);
  if (scale !== undefined && scale !== 1) k.scale(out, scale, out);
}

function withMatmul(row: TensorTypeRow): TensorKernel {
  const kernel = row.kernel;
  const matmul: TensorKernel['matmul'] =
    kernel === 'matmulFloat' ? floatMatmul : (k, w, a, _rows, out, scale) => (k[kernel] as IntegerMatmul).call(k, w, a, out, scale);
  return { ...row, matmul };
}

/** Every weight type the kernels multiply, by ggml type id, with the call that multiplies it. */
export const TENSOR_KERNELS: ReadonlyMap<GgmlType, TensorKernel> = new Map(TENSOR_TYPES.map((row) => [row.type, withMatmul(row)]));

/** The table entry of `type`; a type the kernels cannot multiply is a RangeError naming it. */
export function tensorKernel(type: GgmlType): TensorKernel {
  const entry = TENSOR_KERNELS.get(type);
  if (!entry) {
    const known = TENSOR_TYPES.map((e) => e.name).join(', ');
    throw new RangeError(`no kernel multiplies ${ggmlTypeName(type)} (ggml type ${String(type)}) weights; the kernels take ${known}`);
  }
  return entry;
}

/**
 * The single call of a ternary matrix's type (matmulI2sI8, matmulTq2_0Q8K or matmulTq1_0Q8K): what
 * matmulTernaryMany gives each of its matrices; the TS kernels' matmulTernaryMany is these calls in turn.
 */
export function ternaryMatmulCall(k: Kernels, w: TernaryMatrix, a: I8Activations | Q8KActivations, out: Float32Array, scale?: number): void {
  const entry = tensorKernel(w.type);
  if (entry.kind !== 'ternary') throw new RangeError(`${entry.name} is not a ternary type`);
  (k[entry.kernel] as IntegerMatmul).call(k, w, a, out, scale);
}
