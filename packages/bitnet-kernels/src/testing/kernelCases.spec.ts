import { dequantize, f16ToF32, ggmlTypeName } from '@bitnet/models';
import { attentionCase, ATTENTION_SHAPES, CACHE_POISON, floatCase, FLOAT_TYPES, ternaryCase, TERNARY_TYPES } from './kernelCases';
import { keyIndex, valueIndex } from '../api/KvLayout';

describe('kernel cases', () => {
  it.each(TERNARY_TYPES.map((t) => [ggmlTypeName(t), t] as const))('%s cases are reproducible and decode to trits × stored scales', (_name, type) => {
    const c = ternaryCase(type, 7, 1536, 3, 42);
    expect(Array.from(ternaryCase(type, 7, 1536, 3, 42).w.data)).toEqual(Array.from(c.w.data));
    expect(Array.from(ternaryCase(type, 7, 1536, 3, 43).w.data)).not.toEqual(Array.from(c.w.data));
    const W = dequantize(type, c.w.data, 7 * 1536);
    const scaleOf = (e: number) => (c.scales.length === 1 ? c.scales[0] : c.scales[e >> 8]);
    for (let e = 0; e < W.length; e++) expect(W[e]).toBe(c.trits[e] * scaleOf(e));
    expect(c.trits.subarray(6 * 1536).every((t) => t === 1)).toBe(true);
    expect(c.x.length).toBe(3 * 1536);
  });

  it.each(FLOAT_TYPES.map((t) => [ggmlTypeName(t), t] as const))('%s cases hold the quantized values', (_name, type) => {
    const c = floatCase(type, 3, 256, 2, 1);
    const W = dequantize(type, c.w.data, 3 * 256);
    let err = 0;
    let mag = 0;
    W.forEach((w, i) => ((err += (w - c.values[i]) ** 2), (mag += c.values[i] ** 2)));
    expect(Math.sqrt(err / mag)).toBeLessThan(0.1);
  });

  it('attention cases fill exactly the visible positions and poison the rest', () => {
    for (const s of ATTENTION_SHAPES) {
      const c = attentionCase(s, 1);
      const visible = s.startPos + s.tokens;
      for (let h = 0; h < s.kvHeads; h++)
        for (let pos = 0; pos < c.shape.capacity; pos++)
          for (let d = 0; d < s.headDim; d++) {
            for (const [cache, at] of [[c.kCache, keyIndex(c.shape, h, pos, d)], [c.vCache, valueIndex(c.shape, h, pos, d)]] as const) {
              if (pos < visible) expect(Number.isFinite(f16ToF32(cache[at]))).toBe(true);
              else expect(cache[at]).toBe(CACHE_POISON);
            }
          }
      expect(c.shape.scale).toBeCloseTo(1 / Math.sqrt(s.headDim), 12);
    }
  });
});
