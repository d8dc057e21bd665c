/**
 * The native kernels, every instruction set this machine can run (see testing/kernelIsaVariants.ts):
 * attention and storeKv over a paged KV cache (KvShape.blocks) give the bits of the contiguous cache,
 * in every implementation; the binding refuses block ids outside the caches by itself.
 */
import type { AttentionShape, KvShape } from '../api/Kernels';
import { keyIndex, valueIndex } from '../api/KvLayout';
import { attentionCase, AttentionCaseShape, CACHE_POISON, randomF32 } from '../testing/kernelCases';
import { describeNativeIsas, tsKernels } from '../testing/kernelIsaVariants';
import { toPaged } from '../testing/pagedKv';

const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);

const SHAPES: readonly AttentionCaseShape[] = [
  // decode: before, on and past block boundaries; 4+ query heads per kv head; headDim 32..256 and an odd one (reference path)
  { tokens: 1, heads: 4, kvHeads: 2, headDim: 64, startPos: 0, capacity: 1 },
  { tokens: 1, heads: 4, kvHeads: 2, headDim: 64, startPos: 31, capacity: 40 },
  { tokens: 1, heads: 4, kvHeads: 2, headDim: 64, startPos: 32, capacity: 33 },
  { tokens: 1, heads: 20, kvHeads: 5, headDim: 128, startPos: 270, capacity: 300 },
  { tokens: 1, heads: 6, kvHeads: 2, headDim: 32, startPos: 95, capacity: 130 },
  { tokens: 1, heads: 3, kvHeads: 1, headDim: 256, startPos: 200 },
  { tokens: 1, heads: 4, kvHeads: 2, headDim: 24, startPos: 70 },
  // prefill: several 16-token tasks, partial chunks of 8 and 32, blocks crossed inside the call
  { tokens: 37, heads: 8, kvHeads: 2, headDim: 64, startPos: 3, capacity: 48 },
  { tokens: 19, heads: 14, kvHeads: 2, headDim: 64, startPos: 60, capacity: 100 },
  { tokens: 5, heads: 20, kvHeads: 5, headDim: 128, startPos: 126 },
  { tokens: 4, heads: 6, kvHeads: 2, headDim: 32, startPos: 62 },
  { tokens: 3, heads: 2, kvHeads: 1, headDim: 12, startPos: 30 },
  { tokens: 70, heads: 4, kvHeads: 1, headDim: 96, startPos: 0 },
  // past 512 positions p·V walks a paged cache in spans (kValueSpan; 480 positions in 96-position
  // blocks), its lanes kept from span to span: a partial last span, one ending on the context, two
  // groups of four heads sharing the lanes, prefill rows (tinyBLAS's 8 lanes too)
  { tokens: 1, heads: 20, kvHeads: 5, headDim: 128, startPos: 1100, capacity: 1200 },
  { tokens: 1, heads: 8, kvHeads: 1, headDim: 64, startPos: 1023 },
  { tokens: 6, heads: 8, kvHeads: 2, headDim: 64, startPos: 700 },
];

describeNativeIsas('native paged attention', ({ k, generic }) => {
  it.each(SHAPES.map((s) => [`${s.tokens} tokens at ${s.startPos}, ${s.heads}/${s.kvHeads} heads of ${s.headDim}`, s] as const))(
    'attention over scrambled blocks gives the contiguous bits, and those of generic and TS: %s',
    (_name, s) => {
      const c = attentionCase(s, s.tokens * 7 + s.startPos + s.headDim);
      for (const independentRows of [false, true]) {
        if (independentRows && s.tokens === 1) continue;
        const shape: AttentionShape = { ...c.shape, independentRows };
        const want = new Float32Array(c.q.length);
        k.attention(c.q, c.kCache, c.vCache, shape, want);
        expect(want.some(Number.isNaN)).toBe(false);
        for (const blockTokens of [32, 64, 96]) {
          const p = toPaged(shape, c.kCache, c.vCache, blockTokens, blockTokens * 3 + s.startPos);
          const got = new Float32Array(c.q.length);
          k.attention(c.q, p.kCache, p.vCache, p.shape, got);
          expect(bits(got)).toEqual(bits(want));
          const g = new Float32Array(c.q.length);
          generic(() => k.attention(c.q, p.kCache, p.vCache, p.shape, g));
          expect(bits(g)).toEqual(bits(want));
          if (tsKernels) {
            const t = new Float32Array(c.q.length);
            tsKernels.attention(c.q, p.kCache, p.vCache, p.shape, t);
            expect(bits(t)).toEqual(bits(want));
          }
        }
      }
    },
  );

  it('storeKv: each row at its position in its block, nothing else of the arena; the same as TS', () => {
    for (const [startPos, tokens, headDim] of [[0, 1, 64], [30, 5, 128], [31, 1, 32], [64, 1, 8], [5, 70, 64], [100, 3, 1]]) {
      const kv: KvShape = { tokens, kvHeads: 2, headDim, startPos, capacity: startPos + tokens };
      const keys = randomF32(tokens * 2 * headDim, startPos + 11, 3);
      const values = randomF32(keys.length, startPos + 12, 3);
      const size = kv.capacity * 2 * headDim;
      const kc = new Uint16Array(size).fill(CACHE_POISON);
      const vc = new Uint16Array(size).fill(CACHE_POISON);
      k.storeKv(keys, values, kc, vc, kv);
      for (const blockTokens of [32, 64]) {
        const p = toPaged(kv, kc, vc, blockTokens, startPos + blockTokens, { positions: 0 });
        const want = [Uint16Array.from(p.kCache), Uint16Array.from(p.vCache)];
        for (let h = 0; h < 2; h++)
          for (let pos = startPos; pos < startPos + tokens; pos++)
            for (let d = 0; d < headDim; d++) {
              want[0][keyIndex(p.shape, h, pos, d)] = kc[keyIndex(kv, h, pos, d)];
              want[1][valueIndex(p.shape, h, pos, d)] = vc[valueIndex(kv, h, pos, d)];
            }
        const ts = [Uint16Array.from(p.kCache), Uint16Array.from(p.vCache)];
        k.storeKv(keys, values, p.kCache, p.vCache, p.shape);
        expect(p.kCache).toEqual(want[0]);
        expect(p.vCache).toEqual(want[1]);
        if (tsKernels) {
          tsKernels.storeKv(keys, values, ts[0], ts[1], p.shape);
          expect(ts).toEqual(want);
        }
      }
    }
  });

  it('the binding checks the paged arguments itself (unchecked kernels), and reads the block ids once', () => {
    const c = attentionCase({ tokens: 2, heads: 4, kvHeads: 2, headDim: 32, startPos: 40 }, 5);
    const p = toPaged(c.shape, c.kCache, c.vCache, 32, 9); // 2 blocks used of 4
    const out = new Float32Array(c.q.length);
    const rows = new Float32Array(2 * 2 * 32);
    const bad: Array<[Partial<KvShape>, RegExp]> = [
      [{ blocks: Int32Array.of(0, 4) }, /shape.blocks\[1\] = 4 is outside the caches/],
      [{ blocks: Int32Array.of(-1, 0) }, /shape.blocks\[0\] = -1 is outside the caches/],
      [{ blocks: Int32Array.of(0) }, /fewer blocks than startPos \+ tokens needs/],
      [{ blockTokens: 48 }, /48 is not a multiple of 32/],
      [{ blockTokens: 16 }, /shape.blockTokens = 16.* is not an integer in \[32/],
    ];
    for (const [patch, message] of bad) {
      expect(() => k.attention(c.q, p.kCache, p.vCache, { ...p.shape, ...patch }, out)).toThrow(message);
      expect(() => k.storeKv(rows, rows, p.kCache, p.vCache, { ...p.shape, ...patch })).toThrow(message);
    }
    expect(() => k.attention(c.q, p.kCache, p.vCache.subarray(1), p.shape, out)).toThrow(/kCache and vCache differ in length/);
    expect(() => k.attention(c.q, p.kCache.subarray(1), p.vCache.subarray(1), p.shape, out)).toThrow(/whole number of blocks/);
    // blocks sharing memory with out: the ids are read before any output is written
    const want = new Float32Array(c.q.length);
    k.attention(c.q, p.kCache, p.vCache, p.shape, want);
    const shared = new Float32Array(c.q.length + 1);
    const blocks = new Int32Array(shared.buffer, (c.q.length - 1) * 4, 2);
    blocks.set(p.shape.blocks.subarray(0, 2));
    k.attention(c.q, p.kCache, p.vCache, { ...p.shape, blocks }, shared.subarray(0, c.q.length));
    expect(bits(shared.subarray(0, c.q.length))).toEqual(bits(want));
  });
});
