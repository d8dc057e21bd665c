import type { AttentionShape, KvShape } from '../api/Kernels';
import { keyIndex, valueIndex } from '../api/KvLayout';
import { attentionCase, AttentionCaseShape, CACHE_POISON, randomF32 } from '../testing/kernelCases';
import { kernelsUnderTest } from '../testing/kernelsUnderTest';
import { toPaged } from '../testing/pagedKv';

/** The f32 bits of `x`, for exact comparisons (NaNs and −0 included). */
const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);

// Decode and prefill, before / on / across block boundaries (32 and 64 positions), odd head sizes.
const SHAPES: readonly AttentionCaseShape[] = [
  { tokens: 1, heads: 1, kvHeads: 1, headDim: 8, startPos: 0 },
  { tokens: 1, heads: 4, kvHeads: 2, headDim: 16, startPos: 31 },
  { tokens: 1, heads: 4, kvHeads: 2, headDim: 16, startPos: 32, capacity: 40 },
  { tokens: 1, heads: 6, kvHeads: 2, headDim: 64, startPos: 100, capacity: 130 },
  { tokens: 5, heads: 4, kvHeads: 4, headDim: 16, startPos: 29 },
  { tokens: 40, heads: 4, kvHeads: 2, headDim: 32, startPos: 0 },
  { tokens: 37, heads: 8, kvHeads: 2, headDim: 64, startPos: 60, capacity: 100 },
  { tokens: 3, heads: 5, kvHeads: 1, headDim: 3, startPos: 62 },
  { tokens: 2, heads: 4, kvHeads: 2, headDim: 12, startPos: 127 },
];

describe.each(kernelsUnderTest())('paged KV cache [%s]', (_label, kernels) => {
  it.each(SHAPES.map((s) => [`${s.tokens} tokens at ${s.startPos}, ${s.heads}/${s.kvHeads} heads of ${s.headDim}`, s] as const))(
    'attention over scrambled blocks gives the bits of the contiguous cache: %s',
    (_name, s) => {
      const c = attentionCase(s, s.tokens * 31 + s.startPos);
      for (const independentRows of [false, true]) {
        const shape: AttentionShape = { ...c.shape, independentRows };
        const want = new Float32Array(c.q.length);
        kernels.attention(c.q, c.kCache, c.vCache, shape, want);
        expect(want.some(Number.isNaN)).toBe(false);
        for (const blockTokens of [32, 64]) {
          const p = toPaged(shape, c.kCache, c.vCache, blockTokens, blockTokens + s.startPos);
          const got = new Float32Array(c.q.length);
          kernels.attention(c.q, p.kCache, p.vCache, p.shape, got);
          expect(bits(got)).toEqual(bits(want));
        }
      }
    },
  );

  it('storeKv writes each row at its position in its block, nothing else of the arena; attention then reads the bits of a contiguous cache', () => {
    for (const [startPos, tokens, capacity] of [[0, 1, 1], [30, 5, 40], [31, 1, 32], [32, 1, 33], [5, 70, 80]]) {
      const kv: KvShape = { tokens, kvHeads: 2, headDim: 16, startPos, capacity };
      const keys = randomF32(tokens * 2 * 16, startPos + 1, 3);
      const values = randomF32(keys.length, startPos + 2, 3);
      // Contiguous: positions before startPos already written, the rest poison.
      const prior = attentionCase({ tokens: Math.max(startPos, 1), heads: 2, kvHeads: 2, headDim: 16, startPos: 0, capacity }, startPos + 3);
      const kc = Uint16Array.from(prior.kCache);
      const vc = Uint16Array.from(prior.vCache);
      if (startPos === 0) {
        kc.fill(CACHE_POISON);
        vc.fill(CACHE_POISON);
      }
      const p = toPaged(kv, kc, vc, 32, startPos, { positions: startPos });
      const before = [Uint16Array.from(p.kCache), Uint16Array.from(p.vCache)];
      kernels.storeKv(keys, values, kc, vc, kv);
      kernels.storeKv(keys, values, p.kCache, p.vCache, p.shape);
      // Expected arena: the old one with exactly the stored positions copied from the contiguous cache.
      for (let h = 0; h < 2; h++)
        for (let pos = startPos; pos < startPos + tokens; pos++)
          for (let d = 0; d < 16; d++) {
            before[0][keyIndex(p.shape, h, pos, d)] = kc[keyIndex(kv, h, pos, d)];
            before[1][valueIndex(p.shape, h, pos, d)] = vc[valueIndex(kv, h, pos, d)];
          }
      expect(p.kCache).toEqual(before[0]);
      expect(p.vCache).toEqual(before[1]);
      const shape: AttentionShape = { ...kv, tokens: startPos + tokens, startPos: 0, heads: 4, scale: 0.25 };
      const q = randomF32(shape.tokens * 4 * 16, 7);
      const want = new Float32Array(q.length);
      const got = new Float32Array(q.length);
      kernels.attention(q, kc, vc, shape, want);
      kernels.attention(q, p.kCache, p.vCache, { ...shape, blocks: p.shape.blocks, blockTokens: 32 }, got);
      expect(bits(got)).toEqual(bits(want));
    }
  });
});
