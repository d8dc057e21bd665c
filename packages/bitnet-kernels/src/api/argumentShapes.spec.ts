import { GgmlType } from '@bitnet/models';
import { floatCase, thrown } from '../testing/kernelCases';
import { TsKernels } from '../ts/TsKernels';
import { allocQ8_0Activations } from './Activations';
import { KERNEL_ARGS } from './argumentShapes';
import { CheckedKernels } from './CheckedKernels';
import { checkKernelArgs } from './checkKernelArgs';
import { KernelArgumentError } from './KernelArgumentError';


describe('kernel argument shapes', () => {
  it('declares every kernel of the contract, and CheckedKernels checks each of them', () => {
    // matmulTernaryMany and attentionMany have no row of their own: CheckedKernels checks each of their
    // parts against the single call (NativeTernaryMany.spec.ts, NativeAttentionMany.spec.ts)
    const perMatrix = ['matmulTernaryMany', 'attentionMany'];
    const methods = Object.getOwnPropertyNames(CheckedKernels.prototype).filter((m) => m !== 'constructor' && !['name', 'isa', 'threads'].includes(m));
    expect(Object.keys(KERNEL_ARGS).sort()).toEqual(methods.filter((m) => !perMatrix.includes(m)).sort());
    expect(methods).toEqual(expect.arrayContaining(perMatrix));
    expect(Object.keys(KERNEL_ARGS).sort()).toEqual(
      Object.getOwnPropertyNames(TsKernels.prototype)
        .filter((m) => m !== 'constructor' && !perMatrix.includes(m))
        .sort(),
    );
  });

  it('rejects an array of the wrong length naming the argument, with the length its shape implies', () => {
    const w = floatCase(GgmlType.Q8_0, 4, 64, 2, 1).w;
    const a = allocQ8_0Activations(3, 64);
    const e = thrown<KernelArgumentError>(() => checkKernelArgs('matmulQ8_0Q8_0', { w, a: { ...a, d: new Float32Array(5) }, out: new Float32Array(12) }));
    expect(e).toBeInstanceOf(KernelArgumentError);
    expect([e.kernel, e.argument, e.message]).toEqual(['matmulQ8_0Q8_0', 'a.d', 'matmulQ8_0Q8_0: a.d has 5 elements, 6 expected']);
    // out is a.rows × w.rows
    expect(thrown<KernelArgumentError>(() => checkKernelArgs('matmulQ8_0Q8_0', { w, a, out: new Float32Array(8) })).message).toBe('matmulQ8_0Q8_0: out has 8 elements, 12 expected');
    expect(() => checkKernelArgs('matmulQ8_0Q8_0', { w, a, out: new Float32Array(12) })).not.toThrow();
  });

  it('names the argument for lengths implied by object fields and by another array', () => {
    const shape = { tokens: 2, heads: 4, kvHeads: 2, headDim: 8, startPos: 1, capacity: 5, scale: 0.5 };
    const q = new Float32Array(64);
    const cache = new Uint16Array(5 * 2 * 8);
    expect(thrown<KernelArgumentError>(() => checkKernelArgs('attention', { q, kCache: cache, vCache: cache.subarray(1), shape, out: new Float32Array(64) })).argument).toBe('vCache');
    expect(thrown<KernelArgumentError>(() => checkKernelArgs('add', { a: new Float32Array(4), b: new Float32Array(4), out: new Float32Array(3) })).argument).toBe('out');
    expect(thrown<KernelArgumentError>(() => checkKernelArgs('getRows', { w: floatCase(GgmlType.F32, 3, 8, 1, 2).w, ids: Int32Array.of(0, 2), out: new Float32Array(8) })).message).toBe(
      'getRows: out has 8 elements, 16 expected',
    );
    expect(thrown<KernelArgumentError>(() => checkKernelArgs('repackTq1_0AsTq2_0', { src: new Uint8Array(107), dst: new Uint8Array(132) })).message).toBe(
      'repackTq1_0AsTq2_0: src holds 107 bytes; 2 TQ1_0 blocks need 108',
    );
    const f16 = floatCase(GgmlType.F16, 3, 64, 1, 4).w;
    expect(thrown<KernelArgumentError>(() => checkKernelArgs('encodeQ8_0Rows', { w: f16, out: new Uint8Array(3 * 2 * 34 - 1) })).message).toBe(
      'encodeQ8_0Rows: out has 203 elements, 204 expected',
    );
    expect(thrown<KernelArgumentError>(() => checkKernelArgs('encodeQ8_0Rows', { w: floatCase(GgmlType.Q8_0, 3, 64, 1, 4).w, out: new Uint8Array(204) })).argument).toBe('w.type');
    expect(thrown<KernelArgumentError>(() => checkKernelArgs('encodeQ8_0Rows', { w: { ...f16, cols: 48, data: f16.data.subarray(0, 3 * 48 * 2) }, out: new Uint8Array(153) })).message).toMatch(
      /w\.cols.*48 is not a multiple of the Q8_0 block size 32/,
    );
    expect(() => checkKernelArgs('encodeQ8_0Rows', { w: f16, out: new Uint8Array(204) })).not.toThrow();
  });

  it('returns the integers it read', () => {
    const w = floatCase(GgmlType.F16, 3, 32, 1, 3).w;
    const sizes = checkKernelArgs('matmulFloat', { w, x: new Float32Array(64), xRows: 2, out: new Float32Array(6) });
    expect(sizes).toEqual({ 'w.type': GgmlType.F16, 'w.rows': 3, 'w.cols': 32, xRows: 2 });
  });
});
