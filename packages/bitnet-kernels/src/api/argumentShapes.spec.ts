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

  it('matmulFloatPicked and screenBoundsQ8_0: index ranges, one pick per xRow and out element, q shaped as w', () => {
    const w = floatCase(GgmlType.F16, 3, 64, 2, 4).w;
    const x = new Float32Array(128);
    const pick = (wRow: number[], xRow: number[], out = new Float32Array(wRow.length)) => () =>
      checkKernelArgs('matmulFloatPicked', { w, x, xRows: 2, wRow: Int32Array.from(wRow), xRow: Int32Array.from(xRow), out });
    expect(thrown<KernelArgumentError>(pick([0, 3], [0, 0])).message).toBe("matmulFloatPicked: wRow[1] is 3, outside the matrix's rows 0..2");
    expect(thrown<KernelArgumentError>(pick([0, 2], [0, 2])).message).toBe("matmulFloatPicked: xRow[1] is 2, outside x's rows 0..1");
    expect(thrown<KernelArgumentError>(pick([0, 2], [0])).message).toBe('matmulFloatPicked: xRow has 1 elements, 2 expected (one per pick, as wRow)');
    expect(thrown<KernelArgumentError>(pick([0, 2], [0, 1], new Float32Array(3))).message).toBe('matmulFloatPicked: out has 3 elements, 2 expected');
    expect(pick([2, 0, 2], [1, 1, 0])).not.toThrow();
    expect(pick([], [])).not.toThrow();

    const q = { type: GgmlType.Q8_0, data: new Uint8Array(3 * 2 * 34), rows: 3, cols: 64 };
    const bounds = (qm: object, out = new Float32Array(9)) => () => checkKernelArgs('screenBoundsQ8_0', { w, q: qm, out });
    expect(thrown<KernelArgumentError>(bounds({ ...q, rows: 2, data: q.data.subarray(0, 136) })).message).toBe('screenBoundsQ8_0: q.rows is 2, w.rows is 3: they must be equal');
    expect(thrown<KernelArgumentError>(bounds({ ...q, cols: 32, data: q.data.subarray(0, 102) })).message).toBe('screenBoundsQ8_0: q.cols is 32, w.cols is 64: they must be equal');
    expect(thrown<KernelArgumentError>(bounds({ ...w })).message).toBe('screenBoundsQ8_0: q.type is F16 (1), expected Q8_0');
    expect(thrown<KernelArgumentError>(bounds(q, new Float32Array(3))).message).toBe('screenBoundsQ8_0: out has 3 elements, 9 expected');
    expect(bounds(q)).not.toThrow();
  });

  it('returns the integers it read', () => {
    const w = floatCase(GgmlType.F16, 3, 32, 1, 3).w;
    const sizes = checkKernelArgs('matmulFloat', { w, x: new Float32Array(64), xRows: 2, out: new Float32Array(6) });
    expect(sizes).toEqual({ 'w.type': GgmlType.F16, 'w.rows': 3, 'w.cols': 32, xRows: 2 });
  });
});
