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

  it('the I8r kernels: cols a multiple of 32 and at most 32768, codes and scales as the rows, q and out shaped as w, c0 / c1 finite ≥ 0, bounds 2V', () => {
    const w = floatCase(GgmlType.F16, 3, 64, 2, 4).w;
    const q = { rows: 3, cols: 64, codes: new Uint8Array(192), scales: new Float32Array(3) };
    const a = { rows: 2, cols: 64, qs: new Int8Array(128), scales: new Float32Array(2), sums: new Int32Array(2) };
    const mm = (wm: object, out = new Float32Array(6), am: object = a) => () => checkKernelArgs('matmulI8rI8', { w: wm, a: am, out });
    expect(mm(q)).not.toThrow();
    expect(thrown<KernelArgumentError>(mm({ ...q, cols: 48, codes: new Uint8Array(144) })).message).toBe('matmulI8rI8: w.cols 48 is not a multiple of the I8r granule 32');
    expect(thrown<KernelArgumentError>(mm({ rows: 1, cols: 32800, codes: new Uint8Array(32800), scales: new Float32Array(1) }, new Float32Array(2), { ...a, cols: 32800, qs: new Int8Array(65600) })).argument).toBe('w.cols');
    expect(thrown<KernelArgumentError>(mm({ ...q, codes: new Uint8Array(191) })).message).toBe('matmulI8rI8: w.codes has 191 elements, 192 expected');
    expect(thrown<KernelArgumentError>(mm({ ...q, scales: new Float32Array(2) })).argument).toBe('w.scales');
    expect(thrown<KernelArgumentError>(mm({ ...q, codes: new Int8Array(192) })).message).toMatch(/w\.codes.*Uint8Array/);
    expect(thrown<KernelArgumentError>(mm(q, new Float32Array(5))).message).toBe('matmulI8rI8: out has 5 elements, 6 expected');
    expect(thrown<KernelArgumentError>(mm(q, undefined, { ...a, cols: 32, qs: new Int8Array(64) })).argument).toBe('a.cols');
    expect(thrown<KernelArgumentError>(mm(null as unknown as object)).argument).toBe('w');

    const enc = (out: object, wm: object = w) => () => checkKernelArgs('encodeI8rRows', { w: wm, out });
    expect(enc(q)).not.toThrow();
    expect(thrown<KernelArgumentError>(enc({ ...q, rows: 2, codes: new Uint8Array(128), scales: new Float32Array(2) })).message).toBe('encodeI8rRows: out.rows is 2, w.rows is 3: they must be equal');
    expect(thrown<KernelArgumentError>(enc(q, floatCase(GgmlType.Q8_0, 3, 64, 1, 4).w)).argument).toBe('w.type');
    expect(thrown<KernelArgumentError>(enc({ ...q, scales: new Float32Array(4) })).argument).toBe('out.scales');

    const bounds = (qm: object, out = new Float32Array(6)) => () => checkKernelArgs('screenBoundsI8r', { w, q: qm, out });
    expect(bounds(q)).not.toThrow();
    expect(thrown<KernelArgumentError>(bounds({ ...q, cols: 32, codes: new Uint8Array(96) })).message).toBe('screenBoundsI8r: q.cols is 32, w.cols is 64: they must be equal');
    expect(thrown<KernelArgumentError>(bounds(q, new Float32Array(9))).message).toBe('screenBoundsI8r: out has 9 elements, 6 expected');

    const cand = (c0: number, c1: number, bounds2: Float32Array = new Float32Array(8), ids: Int32Array = new Int32Array(4)) => () => checkKernelArgs('screenCandidates', { a: new Float32Array(4), bounds: bounds2, c0, c1, ids });
    expect(cand(0, 2.5)).not.toThrow();
    expect(cand(1, 1, undefined, new Int32Array(0))).not.toThrow();
    expect(thrown<KernelArgumentError>(cand(-1, 0)).argument).toBe('c0');
    expect(thrown<KernelArgumentError>(cand(0, NaN)).argument).toBe('c1');
    expect(thrown<KernelArgumentError>(cand(Infinity, 0)).argument).toBe('c0');
    expect(thrown<KernelArgumentError>(cand(1, 1, new Float32Array(7))).message).toBe('screenCandidates: bounds has 7 elements, 8 expected');
    expect(thrown<KernelArgumentError>(cand(1, 1, undefined, new Uint32Array(4) as unknown as Int32Array)).argument).toBe('ids');
  });

  it('matmulFloatPicked: index ranges, one pick per xRow and out element', () => {
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

  });

  it('returns the integers it read', () => {
    const w = floatCase(GgmlType.F16, 3, 32, 1, 3).w;
    const sizes = checkKernelArgs('matmulFloat', { w, x: new Float32Array(64), xRows: 2, out: new Float32Array(6) });
    expect(sizes).toEqual({ 'w.type': GgmlType.F16, 'w.rows': 3, 'w.cols': 32, xRows: 2 });
  });
});
