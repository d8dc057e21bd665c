/**
 * attentionMany (api/Kernels.ts): several attention calls, each over its own cache, in one call give
 * every call bit for bit its own attention call — on every native instruction set (SIMDe-emulated
 * AVX-512 included) and the TypeScript kernels, for a batched decode step (calls small enough to run
 * inline, and enough work to go to the pool with tasks of several calls per thread), prefill chunks
 * and paged caches mixed in. CheckedKernels names the call of a bad argument and refuses outputs that
 * overlap another call's; the raw binding refuses bad calls with an error instead of touching memory.
 */
import { CheckedKernels } from '../api/CheckedKernels';
import { KernelArgumentError } from '../api/KernelArgumentError';
import type { AttentionCall, AttentionShape } from '../api/Kernels';
import { attentionCase, AttentionCaseShape } from '../testing/kernelCases';
import { describeNativeIsas, tsKernels } from '../testing/kernelIsaVariants';
import { toPaged } from '../testing/pagedKv';
import { defaultModeAddon } from '../testing';
import { thrown } from '../testing/kernelCases';

const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);

/** Calls of `shapes` (every third over a paged cache), outputs poisoned with NaN. */
function makeCalls(shapes: readonly AttentionCaseShape[], seed: number): AttentionCall[] {
  return shapes.map((s, j) => {
    const c = attentionCase(s, seed + 31 * j);
    const shape: AttentionShape = { ...c.shape, independentRows: true };
    const out = new Float32Array(c.q.length).fill(NaN);
    if (j % 3 !== 2) return { q: c.q, kCache: c.kCache, vCache: c.vCache, shape, out };
    const p = toPaged(shape, c.kCache, c.vCache, 32, seed + j);
    return { q: c.q, kCache: p.kCache, vCache: p.vCache, shape: p.shape, out };
  });
}

const decode = (startPos: number): AttentionCaseShape => ({ tokens: 1, heads: 20, kvHeads: 5, headDim: 128, startPos, capacity: startPos + 40 });

const BATCHES: Array<[string, AttentionCaseShape[]]> = [
  ['one decode row', [decode(3)]],
  ['8 short decode rows (inline)', [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({ tokens: 1, heads: 4, kvHeads: 2, headDim: 32, startPos: i }))],
  ['8 decode rows of a 2B model (pooled)', [32, 33, 40, 47, 64, 95, 96, 130].map(decode)],
  [
    'decode rows and prefill chunks mixed',
    [decode(50), { tokens: 37, heads: 8, kvHeads: 2, headDim: 64, startPos: 3 }, decode(0), { tokens: 5, heads: 20, kvHeads: 5, headDim: 128, startPos: 126 }, { tokens: 3, heads: 2, kvHeads: 1, headDim: 12, startPos: 30 }],
  ],
];

describeNativeIsas('native attentionMany', ({ k, generic }) => {
  it.each(BATCHES)('%s: each call equals its own attention call, generic and TS', (_name, shapes) => {
    const calls = makeCalls(shapes, shapes.length * 101);
    k.attentionMany(calls);
    for (const c of calls) {
      const want = new Float32Array(c.out.length);
      k.attention(c.q, c.kCache, c.vCache, c.shape, want);
      expect(want.some(Number.isNaN)).toBe(false);
      expect(bits(c.out)).toEqual(bits(want));
    }
    const g = makeCalls(shapes, shapes.length * 101);
    generic(() => k.attentionMany(g));
    g.forEach((c, j) => expect(bits(c.out)).toEqual(bits(calls[j].out)));
    if (tsKernels) {
      const t = makeCalls(shapes, shapes.length * 101);
      tsKernels.attentionMany(t);
      t.forEach((c, j) => expect(bits(c.out)).toEqual(bits(calls[j].out)));
    }
  });

  it.each(BATCHES)('%s, storing each call\'s keys and values first: the caches and outputs of storeKv then attention', (_name, shapes) => {
    // the same calls twice: once with store, once with storeKv then attention per call
    const withKv = (seed: number) =>
      makeCalls(shapes, seed).map((c, j) => {
        const n = c.shape.tokens * c.shape.kvHeads * c.shape.headDim;
        const r = (i: number) => Math.sin(17 * i + 3 * j + 1) * (1 + (i % 5));
        return { ...c, store: { k: Float32Array.from({ length: n }, (_, i) => r(i)), v: Float32Array.from({ length: n }, (_, i) => r(i + 7)) } };
      });
    const want = withKv(shapes.length * 7);
    for (const c of want) {
      k.storeKv(c.store.k, c.store.v, c.kCache, c.vCache, c.shape);
      k.attention(c.q, c.kCache, c.vCache, c.shape, c.out);
    }
    const check = (got: typeof want) =>
      got.forEach((c, j) => {
        expect(bits(c.out)).toEqual(bits(want[j].out));
        expect(Buffer.from(c.kCache.buffer, c.kCache.byteOffset, c.kCache.byteLength).equals(Buffer.from(want[j].kCache.buffer, want[j].kCache.byteOffset, want[j].kCache.byteLength))).toBe(true);
        expect(Buffer.from(c.vCache.buffer, c.vCache.byteOffset, c.vCache.byteLength).equals(Buffer.from(want[j].vCache.buffer, want[j].vCache.byteOffset, want[j].vCache.byteLength))).toBe(true);
      });
    const got = withKv(shapes.length * 7);
    new CheckedKernels(k).attentionMany(got);
    check(got);
    const g = withKv(shapes.length * 7);
    generic(() => k.attentionMany(g));
    check(g);
    if (tsKernels) {
      const t = withKv(shapes.length * 7);
      tsKernels.attentionMany(t);
      check(t);
    }
  });

  it('CheckedKernels refuses keys and values to store that are short, or written into what another call reads', () => {
    const ck = new CheckedKernels(k);
    const calls = makeCalls([decode(5), decode(6)], 21).map((c) => ({ ...c, store: { k: new Float32Array(5 * 128), v: new Float32Array(5 * 128) } }));
    const short = calls.map((c, j) => (j === 1 ? { ...c, store: { k: c.store.k.subarray(1), v: c.store.v } } : c));
    expect(thrown<KernelArgumentError>(() => ck.attentionMany(short)).argument).toBe('calls[1].store.k');
    const intoOut = calls.map((c, j) => (j === 1 ? { ...c, store: { k: c.store.k, v: calls[0].out.subarray(0, 5 * 128) } } : c));
    expect(thrown<KernelArgumentError>(() => ck.attentionMany(intoOut)).message).toMatch(/calls\[0\]\.out.*overlaps calls\[1\]\.store\.v/);
    const bad = calls.map((c, j) => (j === 0 ? { ...c, store: null as unknown as { k: Float32Array; v: Float32Array } } : c));
    expect(thrown<KernelArgumentError>(() => ck.attentionMany(bad)).argument).toBe('calls[0].store');
    expect(calls.every((c) => c.out.every(Number.isNaN))).toBe(true);
    const addon = defaultModeAddon();
    if (addon) {
      const args = (c: AttentionCall, sk: unknown, sv: unknown) => [c.q, c.kCache, c.vCache, 1, 20, 5, 128, c.shape.startPos, c.shape.capacity, c.shape.scale, c.out, true, null, 0, sk, sv];
      expect(() => addon.attentionMany([args(calls[0], calls[0].store.k.subarray(8), calls[0].store.v)])).toThrow(/calls\[0\]: store.k holds 632 elements/);
      expect(() => addon.attentionMany([args(calls[0], calls[0].store.k, 'v')])).toThrow(/calls\[0\]: store.v must be a Float32Array/);
      expect(calls.every((c) => c.out.every(Number.isNaN))).toBe(true);
      // a call with no query heads attends over nothing, but still stores what it is given
      const k0 = calls[0].kCache.slice(), v0 = calls[0].vCache.slice();
      const nk = Float32Array.from({ length: 5 * 128 }, (_, i) => i / 7), nv = Float32Array.from({ length: 5 * 128 }, (_, i) => -i / 9);
      k.storeKv(nk, nv, k0, v0, calls[0].shape);
      const noHeads = [calls[0].q, calls[0].kCache, calls[0].vCache, 1, 0, 5, 128, calls[0].shape.startPos, calls[0].shape.capacity, 1, calls[0].out, true, null, 0, nk, nv];
      addon.attentionMany([noHeads]);
      expect([Buffer.from(calls[0].kCache.buffer).equals(Buffer.from(k0.buffer)), Buffer.from(calls[0].vCache.buffer).equals(Buffer.from(v0.buffer))]).toEqual([true, true]);
    }
  });

  it('no calls: nothing happens', () => {
    expect(() => k.attentionMany([])).not.toThrow();
  });

  it('CheckedKernels names the bad call and refuses outputs overlapping another call', () => {
    const ck = new CheckedKernels(k);
    const calls = makeCalls([decode(5), decode(6), decode(7)], 9);
    const short = calls.map((c, j) => (j === 1 ? { ...c, q: c.q.subarray(1) } : c));
    const e = thrown<KernelArgumentError>(() => ck.attentionMany(short));
    expect(e).toBeInstanceOf(KernelArgumentError);
    expect(e.argument).toBe('calls[1].q');
    const shared = new Float32Array(calls[0].out.length + 8);
    const overlapping = calls.map((c, j) => (j === 0 ? { ...c, out: shared.subarray(0, c.out.length) } : j === 2 ? { ...c, out: shared.subarray(8) } : c));
    expect(thrown<KernelArgumentError>(() => ck.attentionMany(overlapping)).message).toMatch(/calls\[2\]\.out.*overlaps calls\[0\]\.out/);
    const intoQ = calls.map((c, j) => (j === 1 ? { ...c, out: calls[0].q } : c));
    expect(thrown<KernelArgumentError>(() => ck.attentionMany(intoQ)).message).toMatch(/overlaps calls\[0\]\.q/);
    expect(thrown(() => ck.attentionMany({} as unknown as AttentionCall[])).message).toMatch(/calls must be an array/);
    expect(thrown(() => ck.attentionMany([null as unknown as AttentionCall])).message).toMatch(/calls\[0\] must be an object/);
    // nothing was written by a refused call
    expect(calls.every((c) => c.out.every(Number.isNaN))).toBe(true);
  });

  it('the binding checks every call itself (unchecked kernels)', () => {
    const calls = makeCalls([decode(5), decode(6), decode(7)], 13);
    const bad = calls.map((c, j) => (j === 2 ? { ...c, out: c.out.subarray(0, 100) } : c));
    expect(() => k.attentionMany(bad)).toThrow(/attentionMany calls\[2\]: out holds 100 elements/);
    const badBlocks = calls.map((c, j) => (j === 1 ? { ...c, shape: { ...c.shape, blocks: Int32Array.of(0, 99), blockTokens: 32 } } : c));
    expect(() => k.attentionMany(badBlocks)).toThrow(/attentionMany calls\[1\]: kCache is not a whole number of blocks|calls\[1\].*outside the caches/);
    expect(calls.every((c) => c.out.every(Number.isNaN))).toBe(true);
    const addon = defaultModeAddon();
    if (addon) {
      expect(() => addon.attentionMany('calls' as unknown as unknown[][])).toThrow(/attentionMany: calls must be an array/);
      expect(() => addon.attentionMany([{}] as unknown as unknown[][])).toThrow(/calls\[0\] must be an array of attention's arguments/);
      expect(() => addon.attentionMany([[calls[0].q]])).toThrow(/calls\[0\]: expected 12 arguments, got 1/);
    }
  });
});
