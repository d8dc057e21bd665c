/**
 * The native kernels, every instruction set this machine can run (see testing/kernelIsaVariants.ts):
 * causal GQA attention over an f16 cache.
 */
import { f32ToF16, f16ToF32 } from '@bitnet/models';
import { rng } from '@bitnet/models/testing';
import type { AttentionShape } from '../api/Kernels';
import { keyIndex, valueIndex } from '../api/KvLayout';
import { CACHE_POISON, randomFloats } from '../testing/kernelCases';
import { describeNativeIsas, tsKernels } from '../testing/kernelIsaVariants';
import { expectClose } from '../testing/kernelReferences';

describeNativeIsas('native attention', ({ k, generic }) => {
  it('attention: causal GQA over an f16 cache, against a reference with ggml\'s f16 roundings, generic and TS', () => {
    const next = rng(20);
    for (const s of [
      { tokens: 1, heads: 1, kvHeads: 1, headDim: 8, startPos: 0, capacity: 1 },
      { tokens: 1, heads: 4, kvHeads: 2, headDim: 64, startPos: 37, capacity: 64 },
      { tokens: 5, heads: 20, kvHeads: 5, headDim: 128, startPos: 300, capacity: 320 },
      { tokens: 3, heads: 2, kvHeads: 1, headDim: 12, startPos: 2, capacity: 8 },
      { tokens: 1, heads: 4, kvHeads: 1, headDim: 128, startPos: 200, capacity: 256 },
      { tokens: 2, heads: 2, kvHeads: 2, headDim: 96, startPos: 0, capacity: 2 },
      // several 16-token blocks per kv head (prefill), with partial 8- and 32-position chunks
      { tokens: 37, heads: 8, kvHeads: 2, headDim: 64, startPos: 3, capacity: 48 },
      { tokens: 1, heads: 20, kvHeads: 5, headDim: 128, startPos: 270, capacity: 300 },
      // an odd number of query heads per kv head (pairs plus one), one per kv head, a long decode
      { tokens: 1, heads: 6, kvHeads: 2, headDim: 64, startPos: 45, capacity: 50 },
      { tokens: 4, heads: 6, kvHeads: 2, headDim: 32, startPos: 9, capacity: 13 },
      { tokens: 1, heads: 3, kvHeads: 3, headDim: 32, startPos: 70, capacity: 90 },
      { tokens: 1, heads: 20, kvHeads: 5, headDim: 128, startPos: 1500, capacity: 1600 },
      // more than four query heads per kv head (fours, then the rest), in a prefill-sized call
      { tokens: 19, heads: 14, kvHeads: 2, headDim: 64, startPos: 40, capacity: 64 },
      // 2B4T heads in a prefill chunk at a longer context: the AVX-512 tasks transpose 22 blocks of 16
      // keys and the last partly, and walk three value rows a pass
      { tokens: 20, heads: 20, kvHeads: 5, headDim: 128, startPos: 333, capacity: 360 },
      // past position 512 the tasks take 32 rows: one whole, one of 8
      { tokens: 40, heads: 8, kvHeads: 2, headDim: 64, startPos: 600, capacity: 645 },
      // the by-lane scores at the smallest and largest head sizes the AVX-512 kernel takes (1 and 8 steps of 32)
      { tokens: 5, heads: 8, kvHeads: 2, headDim: 32, startPos: 50, capacity: 60 },
      { tokens: 6, heads: 4, kvHeads: 1, headDim: 256, startPos: 70, capacity: 80 },
    ]) {
      const shape: AttentionShape = { ...s, scale: 1 / Math.sqrt(s.headDim) };
      const q = randomFloats(next, s.tokens * s.heads * s.headDim, 2);
      // Slots past the last visible position hold NaN: a kernel that read one would show it.
      const kc = new Uint16Array(s.capacity * s.kvHeads * s.headDim).fill(CACHE_POISON);
      const vc = new Uint16Array(kc.length).fill(CACHE_POISON);
      for (let h = 0; h < s.kvHeads; h++)
        for (let p = 0; p < s.startPos + s.tokens; p++)
          for (let i = 0; i < s.headDim; i++) {
            kc[keyIndex(s, h, p, i)] = f32ToF16((next() - 0.5) * 4);
            vc[valueIndex(s, h, p, i)] = f32ToF16((next() - 0.5) * 4);
          }
      const got = new Float32Array(q.length);
      k.attention(q, kc, vc, shape, got);
      // Reference: the contract in double, with the f16 roundings of q and of p; and Σ p·|v| as the scale.
      const want = new Float64Array(q.length);
      const mag = new Float64Array(q.length);
      const D = s.headDim;
      for (let t = 0; t < s.tokens; t++)
        for (let h = 0; h < s.heads; h++) {
          const kvh = Math.floor(h / (s.heads / s.kvHeads));
          const vis = s.startPos + t + 1;
          const sc: number[] = [];
          for (let p = 0; p < vis; p++) {
            let d = 0;
            for (let i = 0; i < D; i++) d += f16ToF32(f32ToF16(q[(t * s.heads + h) * D + i])) * f16ToF32(kc[keyIndex(s, kvh, p, i)]);
            sc.push(d * shape.scale);
          }
          const mx = Math.max(...sc);
          const e = sc.map((v) => Math.exp(v - mx));
          const sum = e.reduce((x, y) => x + y, 0);
          for (let p = 0; p < vis; p++) {
            const w = f16ToF32(f32ToF16(e[p] / sum));
            for (let i = 0; i < D; i++) {
              const v = f16ToF32(vc[valueIndex(s, kvh, p, i)]);
              want[(t * s.heads + h) * D + i] += w * v;
              mag[(t * s.heads + h) * D + i] += (e[p] / sum) * Math.abs(v);
            }
          }
        }
      // An f16 rounding of p may land on the other side of a tie when the sums differ in their last
      // bits: that moves one term by at most 2^-11 of p·|v|, hence 5e-4 of Σ p·|v|.
      expectClose(got, want, mag, 5e-4, 'attention vs reference');
      const g = new Float32Array(q.length);
      generic(() => k.attention(q, kc, vc, shape, g));
      expectClose(got, g, mag, 5e-4, 'attention vs generic');
      expect(got).toEqual(g); // llama.cpp's arithmetic exactly in every implementation
      if (tsKernels) {
        const t = new Float32Array(q.length);
        tsKernels.attention(q, kc, vc, shape, t);
        expectClose(got, t, mag, 5e-4, 'attention vs TS');
        expect(got).toEqual(t);
      }
      if (s.tokens >= 2) {
        // independentRows: each row exactly as a one-token call at its position, in every implementation
        const rows = new Float32Array(q.length);
        k.attention(q, kc, vc, { ...shape, independentRows: true }, rows);
        const hd = s.heads * s.headDim;
        for (let t = 0; t < s.tokens; t++) {
          const one = new Float32Array(hd);
          k.attention(q.subarray(t * hd, (t + 1) * hd), kc, vc, { ...shape, tokens: 1, startPos: s.startPos + t }, one);
          expect(rows.subarray(t * hd, (t + 1) * hd)).toEqual(one);
        }
        const gr = new Float32Array(q.length);
        generic(() => k.attention(q, kc, vc, { ...shape, independentRows: true }, gr));
        expect(gr).toEqual(rows);
        if (tsKernels) {
          const tr = new Float32Array(q.length);
          tsKernels.attention(q, kc, vc, { ...shape, independentRows: true }, tr);
          expect(tr).toEqual(rows);
        }
      }
      // out may be q itself
      const qq = Float32Array.from(q);
      k.attention(qq, kc, vc, shape, qq);
      expect(qq).toEqual(got);
    }
  });

  it('storeKv: rows rounded to f16 at their positions in the layout, nothing else written; the same as TS', () => {
    const next = rng(21);
    for (const s of [
      { tokens: 1, kvHeads: 5, headDim: 128, startPos: 0, capacity: 7 },
      { tokens: 9, kvHeads: 2, headDim: 12, startPos: 3, capacity: 12 },
      { tokens: 3, kvHeads: 1, headDim: 1, startPos: 4, capacity: 7 },
    ]) {
      const keys = randomFloats(next, s.tokens * s.kvHeads * s.headDim, 3);
      const values = randomFloats(next, keys.length, 3);
      const kc = new Uint16Array(s.capacity * s.kvHeads * s.headDim).fill(CACHE_POISON);
      const vc = new Uint16Array(kc.length).fill(CACHE_POISON);
      k.storeKv(keys, values, kc, vc, s);
      for (let h = 0; h < s.kvHeads; h++)
        for (let p = 0; p < s.capacity; p++)
          for (let d = 0; d < s.headDim; d++) {
            const t = p - s.startPos;
            const inside = t >= 0 && t < s.tokens;
            const src = (t * s.kvHeads + h) * s.headDim + d;
            expect(kc[keyIndex(s, h, p, d)]).toBe(inside ? f32ToF16(keys[src]) : CACHE_POISON);
            expect(vc[valueIndex(s, h, p, d)]).toBe(inside ? f32ToF16(values[src]) : CACHE_POISON);
          }
      if (tsKernels) {
        const tk = new Uint16Array(kc.length).fill(CACHE_POISON);
        const tv = new Uint16Array(kc.length).fill(CACHE_POISON);
        tsKernels.storeKv(keys, values, tk, tv, s);
        expect(tk).toEqual(kc);
        expect(tv).toEqual(vc);
      }
    }
  });
});
