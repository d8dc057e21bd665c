import { GgmlType, ggmlTypeTraits } from '@bitnet/models';
import { TsKernels } from '../ts/TsKernels';
import { ACTIVATION_FORMATS } from './ActivationFormats';
import type { FloatMatrix, TernaryMatrix } from './Kernels';
import { FLOAT_TYPES, TENSOR_KERNELS, TERNARY_TYPES, tensorKernel } from './TensorKernels';

describe('tensor-type table', () => {
  it('agrees with the @bitnet/models type traits on block size and bytes', () => {
    for (const e of TENSOR_KERNELS.values()) {
      const t = ggmlTypeTraits(e.type);
      expect([e.name, e.blockSize, e.blockBytes]).toEqual([t?.name, t?.blockSize, t?.typeSize]);
    }
  });

  it('names a kernel of the contract and a known activation format for every type', () => {
    const methods = Object.getOwnPropertyNames(TsKernels.prototype);
    for (const e of TENSOR_KERNELS.values()) {
      expect(methods).toContain(e.kernel);
      expect(ACTIVATION_FORMATS[e.activation].format).toBe(e.activation);
    }
    expect(tensorKernel(GgmlType.I2_S).activation).toBe('i8');
    expect(tensorKernel(GgmlType.TQ1_0).activation).toBe('q8_k');
    expect(tensorKernel(GgmlType.TQ2_0).activation).toBe('q8_k');
    expect(tensorKernel(GgmlType.Q8_0).activation).toBe('q8_0');
    expect(tensorKernel(GgmlType.F16).activation).toBe('f16');
    expect(tensorKernel(GgmlType.F32).kernel).toBe('matmulFloat');
  });

  it('lists the ternary and float types in table order, and rejects a type it does not hold', () => {
    expect(TERNARY_TYPES).toEqual([GgmlType.I2_S, GgmlType.TQ1_0, GgmlType.TQ2_0]);
    expect(FLOAT_TYPES).toEqual([GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K]);
    expect(() => tensorKernel(GgmlType.Q4_0)).toThrow(/no kernel multiplies Q4_0/);
  });

  it('gives the contract its matrix types (a compile-time check)', () => {
    const ternary: TernaryMatrix['type'][] = [GgmlType.I2_S, GgmlType.TQ1_0, GgmlType.TQ2_0];
    const float: FloatMatrix['type'][] = [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K];
    // @ts-expect-error F16 is not a ternary type
    const notTernary: TernaryMatrix['type'] = GgmlType.F16;
    // @ts-expect-error I2_S is not a float type
    const notFloat: FloatMatrix['type'] = GgmlType.I2_S;
    expect([ternary, float, notTernary, notFloat]).toEqual([TERNARY_TYPES, FLOAT_TYPES, GgmlType.F16, GgmlType.I2_S]);
  });
});
