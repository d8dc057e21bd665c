import { attentionCase, thrown } from '../testing/kernelCases';
import { toPaged } from '../testing/pagedKv';
import { TsKernels } from '../ts/TsKernels';
import { CheckedKernels } from './CheckedKernels';
import { KernelArgumentError } from './KernelArgumentError';
import type { AttentionShape, KvShape } from './Kernels';
import { keyIndex, kvBlockElements, kvBlockPositions, valueIndex } from './KvLayout';


describe('paged KV layout', () => {
  it('keyIndex / valueIndex: position p in block blocks[⌊p / blockTokens⌋], each block laid out as a contiguous cache', () => {
    const s = { kvHeads: 2, headDim: 3, capacity: 100, blocks: Int32Array.of(2, 0, 1), blockTokens: 32 };
    const per = 2 * 32 * 3;
    expect([kvBlockPositions(s), kvBlockElements(s)]).toEqual([32, per]);
    expect(keyIndex(s, 1, 33, 2)).toBe(0 * per + (1 * 32 + 1) * 3 + 2);
    expect(valueIndex(s, 1, 33, 2)).toBe(0 * per + (1 * 3 + 2) * 32 + 1);
    expect(keyIndex(s, 0, 5, 1)).toBe(2 * per + 5 * 3 + 1);
    expect(valueIndex(s, 0, 70, 0)).toBe(1 * per + 6);
    // One block of `capacity` positions: the contiguous layout.
    const c = { kvHeads: 2, headDim: 3, capacity: 7 };
    expect([kvBlockPositions(c), kvBlockElements(c)]).toEqual([7, 42]);
    expect([keyIndex(c, 1, 4, 2), valueIndex(c, 1, 4, 2)]).toEqual([(7 + 4) * 3 + 2, (3 + 2) * 7 + 4]);
    // Every element of the arena is hit at most once.
    const seen = new Set<number>();
    for (let h = 0; h < 2; h++) for (let p = 0; p < 96; p++) for (let d = 0; d < 3; d++) seen.add(keyIndex(s, h, p, d));
    expect(seen.size).toBe(3 * per);
    expect(Math.max(...seen)).toBe(3 * per - 1);
  });
});

describe('paged KV arguments', () => {
  const k = new CheckedKernels(new TsKernels());
  const c = attentionCase({ tokens: 3, heads: 4, kvHeads: 2, headDim: 8, startPos: 60, capacity: 70 }, 9);
  const p = toPaged(c.shape, c.kCache, c.vCache, 32, 1); // 2 blocks used, 2 spare, blocks = [a, b, -1]
  const out = new Float32Array(c.q.length);
  const att = (shape: Partial<AttentionShape>, kc = p.kCache, vc = p.vCache, o = out) => () => k.attention(c.q, kc, vc, { ...p.shape, ...shape } as AttentionShape, o);
  const rows = new Float32Array(3 * 2 * 8);
  const store = (shape: Partial<KvShape>, kc = p.kCache, vc = p.vCache) => () => k.storeKv(rows, rows, kc, vc, { ...p.shape, ...shape } as KvShape);

  it('accepts a valid paged call, with entries past the used blocks left unchecked', () => {
    expect(p.shape.blocks[2]).toBe(-1);
    expect(att({})).not.toThrow();
    expect(store({}, Uint16Array.from(p.kCache), Uint16Array.from(p.vCache))).not.toThrow();
    // capacity need not be a multiple of blockTokens, nor blocks × blockTokens >= capacity
    expect(att({ capacity: 1000 })).not.toThrow();
  });

  it.each([
    ['blockTokens not a multiple of 32', { blockTokens: 48 }, 'shape.blockTokens', /48 is not a multiple of 32/],
    ['blockTokens under 32', { blockTokens: 16 }, 'shape.blockTokens', /must be an integer >= 32/],
    ['blockTokens not an integer', { blockTokens: 32.5 }, 'shape.blockTokens', /must be an integer/],
    ['blocks without blockTokens', { blockTokens: undefined }, 'shape.blockTokens', /must be given with shape.blocks/],
    ['blockTokens without blocks', { blocks: undefined }, 'shape.blockTokens', /is given without shape.blocks/],
    ['blocks not an Int32Array', { blocks: Uint32Array.of(0, 1) as unknown as Int32Array }, 'shape.blocks', /must be a Int32Array/],
    ['blocks empty', { blocks: new Int32Array(0) }, 'shape.blocks.length', /must be an integer >= 1/],
    ['too few blocks', { blocks: Int32Array.of(0) }, 'shape.blocks', /holds 1 blocks of 32 positions, fewer than shape.startPos \+ shape.tokens = 63/],
    ['a used block id past the arena', { blocks: Int32Array.of(0, 4) }, 'shape.blocks[1]', /is 4, outside the cache's blocks 0..3/],
    ['a negative used block id', { blocks: Int32Array.of(-1, 1) }, 'shape.blocks[0]', /is -1, outside/],
    ['startPos + tokens past capacity', { capacity: 62 }, 'shape.capacity', /62 is less than/],
  ] as Array<[string, Partial<KvShape>, string, RegExp]>)('rejects %s, for attention and storeKv alike', (_name, patch, argument, message) => {
    for (const call of [att(patch), store(patch)]) {
      const e = thrown<KernelArgumentError>(call);
      expect(e).toBeInstanceOf(KernelArgumentError);
      expect(e.argument).toBe(argument);
      expect(e.message).toMatch(message);
    }
  });

  it('rejects caches that are not whole blocks, of different lengths, and blocks sharing memory with an output', () => {
    const per = 2 * 32 * 8;
    expect(thrown<KernelArgumentError>(att({}, p.kCache.subarray(1), p.vCache.subarray(1))).message).toBe(
      `attention: kCache has ${4 * per - 1} elements, not a whole number of blocks of kvHeads × blockTokens × headDim = ${per}`,
    );
    expect(thrown<KernelArgumentError>(att({}, p.kCache, p.vCache.subarray(per))).message).toBe(`attention: vCache has ${3 * per} elements, ${4 * per} expected (as kCache)`);
    expect(thrown<KernelArgumentError>(store({}, p.kCache, p.vCache.subarray(per))).argument).toBe('vCache');
    // blocks in the last element of out and the two after it
    const shared = new Float32Array(out.length + 2);
    const blocks = new Int32Array(shared.buffer, (out.length - 1) * 4, 3);
    blocks.set(p.shape.blocks);
    expect(thrown<KernelArgumentError>(att({ blocks }, p.kCache, p.vCache, shared.subarray(0, out.length))).message).toBe('attention: out overlaps shape.blocks');
    // blocks in the last 6 elements of kCache
    const arena = Uint16Array.from(p.kCache);
    const inCache = new Int32Array(arena.buffer, (arena.length - 6) * 2, 3);
    inCache.set(p.shape.blocks);
    expect(thrown<KernelArgumentError>(store({ blocks: inCache }, arena, p.vCache)).message).toBe('storeKv: kCache overlaps shape.blocks');
  });
});
