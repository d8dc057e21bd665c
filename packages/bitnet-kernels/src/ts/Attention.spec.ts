import { f16ToF32, f32ToF16 } from '@bitnet/models';
import type { AttentionShape } from '../api/Kernels';
import { keyIndex, valueIndex } from '../api/KvLayout';
import { attentionCase, AttentionCase, ATTENTION_SHAPES, randomF32 } from '../testing/kernelCases';
import { kernelsUnderTest } from '../testing/kernelsUnderTest';

const f16 = (v: number): number => f16ToF32(f32ToF16(v));

/**
 * float64 attention with ggml's f16 roundings (q before q·k, p before p·v). Besides the expected
 * output it returns a tolerance per element: 1e-5 · Σ|f16(p)·v|, plus, for every weight p within
 * 1e-5 relative of an f16 rounding boundary (where f32 and float64 softmax may round to different
 * f16 neighbours), the size of that flip times |v|.
 */
function reference(c: AttentionCase): { want: Float64Array; tol: Float64Array } {
  const { tokens, heads, kvHeads, headDim: D, startPos, scale } = c.shape;
  const want = new Float64Array(c.q.length);
  const tol = new Float64Array(c.q.length);
  for (let t = 0; t < tokens; t++) {
    const visible = startPos + t + 1;
    for (let h = 0; h < heads; h++) {
      const qo = (t * heads + h) * D;
      const kvh = Math.floor(h / (heads / kvHeads));
      const key = (pos: number, d: number) => f16ToF32(c.kCache[keyIndex(c.shape, kvh, pos, d)]);
      const value = (pos: number, d: number) => f16ToF32(c.vCache[valueIndex(c.shape, kvh, pos, d)]);
      const s: number[] = [];
      for (let pos = 0; pos < visible; pos++) {
        let dot = 0;
        for (let d = 0; d < D; d++) dot += f16(c.q[qo + d]) * key(pos, d);
        s.push(scale * dot);
      }
      const max = Math.max(...s);
      const e = s.map((v) => Math.exp(v - max));
      const sum = e.reduce((a, b) => a + b, 0);
      for (let pos = 0; pos < visible; pos++) {
        const p = e[pos] / sum;
        const p16 = f16(p);
        const flip = Math.max(Math.abs(f16(p * (1 + 1e-5)) - p16), Math.abs(f16(p * (1 - 1e-5)) - p16));
        for (let d = 0; d < D; d++) {
          const v = value(pos, d);
          want[qo + d] += p16 * v;
          tol[qo + d] += 1e-5 * Math.abs(p16 * v) + flip * Math.abs(v);
        }
      }
    }
  }
  return { want, tol };
}

function expectWithin(got: Float32Array, want: Float64Array, tol: Float64Array): void {
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol[i] + 1e-30)) throw new Error(`out[${i}] = ${got[i]}, want ${want[i]} ± ${tol[i]}`);
  }
}

describe.each(kernelsUnderTest())('attention and softmax [%s]', (_label, kernels) => {
  it.each(ATTENTION_SHAPES.map((s) => [`${s.tokens} tokens at ${s.startPos}, ${s.heads}/${s.kvHeads} heads of ${s.headDim}`, s] as const))(
    'attention matches float64 with the f16 roundings: %s',
    (_name, s) => {
      for (const qScale of [0.5, 4]) {
        const c = attentionCase(s, s.heads * 100 + s.headDim + s.startPos, qScale);
        const out = new Float32Array(c.q.length);
        kernels.attention(c.q, c.kCache, c.vCache, c.shape, out);
        const { want, tol } = reference(c);
        expectWithin(out, want, tol);
      }
    },
  );

  it('is causal: token t sees positions 0..startPos+t only (later slots of the call are ignored)', () => {
    // 3 query tokens from position 0; v of position p is the constant 10^p. Token 0 can only see
    // position 0, so its output is exactly v[0]; later tokens may not reach v of later positions.
    const shape: AttentionShape = { tokens: 3, heads: 1, kvHeads: 1, headDim: 2, startPos: 0, capacity: 3, scale: 1 };
    const q = new Float32Array(6).fill(1);
    const kCache = new Uint16Array(6).fill(f32ToF16(0.5));
    // values transposed: dimension 0 over positions 0..2, then dimension 1
    const vCache = Uint16Array.from([1, 10, 100, 1, 10, 100], (v) => f32ToF16(v));
    const out = new Float32Array(6);
    kernels.attention(q, kCache, vCache, shape, out);
    // Equal scores: uniform weights over the visible positions, rounded to f16.
    expect(Array.from(out)).toEqual([1, 1, 5.5, 5.5, f16(1 / 3) * 111, f16(1 / 3) * 111].map(Math.fround));
  });

  it('maps query head h to kv head floor(h / (heads / kvHeads))', () => {
    // One position, so every weight is exactly 1 and the output is that position's v of the kv head.
    const shape: AttentionShape = { tokens: 1, heads: 6, kvHeads: 3, headDim: 2, startPos: 0, capacity: 1, scale: 0.7 };
    const q = randomF32(12, 3);
    const kCache = Uint16Array.from(randomF32(6, 4), (v) => f32ToF16(v));
    const vCache = Uint16Array.from([1, -1, 2, -2, 3, -3], (v) => f32ToF16(v));
    const out = new Float32Array(12);
    kernels.attention(q, kCache, vCache, shape, out);
    expect(Array.from(out)).toEqual([1, -1, 1, -1, 2, -2, 2, -2, 3, -3, 3, -3]);
  });

  it('rounds q to f16 before q·k, applies the scale, rounds p to f16 before p·v', () => {
    // q = [1 + 3·2^-12, 1] rounds to [1 + 2^-10, 1]; k0 = [512, 0], k1 = [0, 512], scale 1/2: scores
    // 256.25 and 256 (unrounded q would give 256.1875). v0 = [1, 0], v1 = [0, 1], so out = [f16(p0), f16(p1)].
    const shape: AttentionShape = { tokens: 1, heads: 1, kvHeads: 1, headDim: 2, startPos: 1, capacity: 2, scale: 0.5 };
    const kCache = Uint16Array.from([512, 0, 0, 512], (v) => f32ToF16(v));
    const vCache = Uint16Array.from([1, 0, 0, 1], (v) => f32ToF16(v));
    const out = new Float32Array(2);
    kernels.attention(Float32Array.of(1 + 3 * 2 ** -12, 1), kCache, vCache, shape, out);
    const p0 = 1 / (1 + Math.exp(-0.25));
    expect(out[0]).toBeCloseTo(f16(p0), 6);
    expect(out[1]).toBeCloseTo(f16(1 - p0), 6);
  });

  it('softmax within 1e-5 of float64; −Infinity gives 0; large inputs do not overflow', () => {
    for (const [rows, cols] of [[1, 1], [3, 7], [4, 1000]]) {
      const x = randomF32(rows * cols, rows + cols, 8);
      const want = Float64Array.from(x);
      for (let r = 0; r < rows; r++) {
        const row = want.subarray(r * cols, (r + 1) * cols);
        const max = Math.max(...row);
        const sum = row.reduce((a, v) => a + Math.exp(v - max), 0);
        row.forEach((v, i) => (row[i] = Math.exp(v - max) / sum));
      }
      kernels.softmax(x, rows, cols);
      want.forEach((w, i) => {
        if (!(Math.abs(x[i] - w) <= 1e-5 * w + 1e-30)) throw new Error(`softmax ${rows}×${cols} [${i}] = ${x[i]}, want ${w}`);
      });
    }
    const x = Float32Array.of(1000, 1001, -Infinity, 1000);
    kernels.softmax(x, 1, 4);
    const e = Math.exp(-1);
    [e, 1, 0, e].forEach((v, i) => expect(x[i]).toBeCloseTo(v / (1 + 2 * e), 6));
    expect(x[2]).toBe(0);
  });
});
