/**
 * The output screen against the full output matrix: whatever the screen keeps, the argmax of its row
 * is the argmax of the full row, every value it keeps has the full row's bits, and every value it
 * drops is below the row's largest. Run on the TypeScript and (when built) the native kernels.
 */
import { ACTIVATION_FORMATS, type FloatMatrix, type I8rMatrix, type Kernels, createKernels, kernelBackend, tensorKernel } from '@bitnet/kernels';
import { GgmlType, SeededRandom, f32ToBf16, f32ToF16 } from '@bitnet/models';
import { LogitScreen } from './LogitScreen';

const backends: Array<[string, Kernels]> = [['ts', createKernels({ mode: 'ts' })]];
if (kernelBackend().name === 'native') backends.push(['native', createKernels({ mode: 'native' })]);

/** A V × K matrix of `type` from f32 values. */
function matrix(type: GgmlType.F16 | GgmlType.BF16 | GgmlType.F32, values: Float32Array, V: number, K: number): FloatMatrix {
  if (type === GgmlType.F32) return { type, data: new Uint8Array(values.buffer.slice(0)), rows: V, cols: K };
  const bits = Uint16Array.from(values, (v) => (type === GgmlType.F16 ? f32ToF16(v) : f32ToBf16(v)));
  return { type, data: new Uint8Array(bits.buffer), rows: V, cols: K };
}

function screenOf(k: Kernels, w: FloatMatrix, maxCandidates?: number): LogitScreen {
  const copy: I8rMatrix = { rows: w.rows, cols: w.cols, codes: new Uint8Array(w.rows * w.cols), scales: new Float32Array(w.rows) };
  k.encodeI8rRows(w, copy);
  const bounds = new Float32Array(2 * w.rows);
  k.screenBoundsI8r(w, copy, bounds);
  return new LogitScreen(k, w, { copy, bounds }, maxCandidates);
}

/** The full logits, as the forward pass computes them without a screen. */
function fullLogits(k: Kernels, w: FloatMatrix, x: Float32Array, rows: number): Float32Array {
  const spec = ACTIVATION_FORMATS[tensorKernel(w.type).activation];
  const h = spec.prepare(k, x, rows, w.cols, spec.alloc(rows, w.cols)) as Float32Array;
  const out = new Float32Array(rows * w.rows);
  k.matmulFloat(w, h, rows, out);
  return out;
}

const argmaxOf = (l: Float32Array) => l.reduce((best, v, i) => (v > l[best] ? i : best), 0);

/** Asserts what the screen promises for every screened row; returns the candidates per row. */
function expectFaithful(outs: Float32Array[], full: Float32Array, V: number, screened: boolean[]): number[] {
  return outs.map((out, r) => {
    expect(screened[r]).toBe(true);
    const ref = full.subarray(r * V, (r + 1) * V);
    const top = ref[argmaxOf(ref)];
    expect(argmaxOf(out)).toBe(argmaxOf(ref));
    let kept = 0;
    for (let n = 0; n < V; n++) {
      if (out[n] === -Infinity) {
        if (!(ref[n] < top)) throw new Error(`row ${r}: dropped token ${n} whose logit ${ref[n]} is not below the largest ${top}`);
      } else {
        if (!Object.is(out[n], ref[n])) throw new Error(`row ${r}: token ${n} kept as ${out[n]}, the full row has ${ref[n]}`);
        kept++;
      }
    }
    return kept;
  });
}

describe.each(backends)('LogitScreen (%s kernels)', (_name, k) => {
  it.each([
    ['F16', GgmlType.F16],
    ['BF16', GgmlType.BF16],
    ['F32', GgmlType.F32],
  ] as const)('%s: keeps the argmax and the exact bits of what it keeps, and rules out most tokens', (_t, type) => {
    const V = 3000;
    const K = 256;
    const rnd = new SeededRandom(7 + type);
    // rows of an embedding-like table, a few of them much larger than the rest
    const w = matrix(type, Float32Array.from({ length: V * K }, (_, i) => (rnd.next() - 0.5) * (i % (K * 97) < K ? 0.4 : 0.05)), V, K);
    const rows = 5;
    // hidden states with an outlier dimension each, as final-normed LLM states have
    const x = Float32Array.from({ length: rows * K }, (_, i) => (i % K === 17 ? 40 : 1) * (rnd.next() * 4 - 2));
    const outs = Array.from({ length: rows }, () => new Float32Array(V));
    const result = screenOf(k, w).run(x, rows, outs);
    const kept = expectFaithful(outs, fullLogits(k, w, x, rows), V, result.screened);
    expect(result.candidates).toBe(kept.reduce((a, b) => a + b, 0));
    for (const n of kept) expect(n).toBeLessThan(V / 16);
  });

  it('orders tokens the int8 copy cannot tell apart (near-ties: rows a quantization step apart)', () => {
    const V = 512;
    const K = 128;
    const rnd = new SeededRandom(3);
    const base = Float32Array.from({ length: K }, () => rnd.next() - 0.5);
    // every row is the base row moved by less than an int8 step, so the approximate logits are nearly
    // all equal and their order says little about the exact one
    const w = matrix(GgmlType.F16, Float32Array.from({ length: V * K }, (_, i) => base[i % K] + (rnd.next() - 0.5) * 0.004), V, K);
    const rows = 16;
    const x = Float32Array.from({ length: rows * K }, () => rnd.next() * 2 - 1);
    const outs = Array.from({ length: rows }, () => new Float32Array(V));
    const result = screenOf(k, w, V).run(x, rows, outs);
    const kept = expectFaithful(outs, fullLogits(k, w, x, rows), V, result.screened);
    expect(Math.min(...kept)).toBeGreaterThan(1);
  });

  it.each([
    ['F16', GgmlType.F16],
    ['F32', GgmlType.F32],
  ] as const)('%s: finds the largest logit where the int8 copy ranks it last (rounding errors all one way)', (_t, type) => {
    // Rows 0..6 share their int8 codes except one that row n raises by 2n steps, so the copy ranks
    // them 0 < 1 < … < 6; every other value of row n sits δ_n = 0.375 − 0.125n of a step above its
    // code, so the exact logits (x all ones, quantized without error) rank them the other way. Every
    // row's largest value is 127 steps, so the step is exactly 2⁻⁷ and every value is exact in F16.
    // Row 7 sits on its codes (no error, so its lower bound is its exact logit) a quarter step below
    // row 0. Row 0's bound is within 2 % of its true error (‖w − ŵ‖₂·‖x‖₂ against Σ(w − ŵ)·x with
    // every term of one sign), so a bound 3 % too small drops row 0 below row 7's floor.
    const K = 64;
    const step = 2 ** -7;
    const rnd = new SeededRandom(11);
    const codes = Array.from({ length: K }, (_, i) => (i % 32 === 0 ? 127 : Math.floor(rnd.next() * 200) - 100));
    const V = 64;
    const values = new Float32Array(V * K);
    for (let n = 0; n < V; n++) {
      for (let i = 0; i < K; i++) {
        if (n === 7) values[n * K + i] = i % 32 === 0 ? 127 * step : (codes[i] + (i === 1 ? 23 : 0)) * step; // just below row 0, held exactly
        else if (n > 7) values[n * K + i] = i % 32 === 0 ? 127 * step : -Math.floor(rnd.next() * 100) * step; // far below
        else values[n * K + i] = i % 32 === 0 ? 127 * step : (codes[i] + (i === 1 ? 2 * n : 0) + 0.375 - 0.125 * n) * step;
      }
    }
    const w = matrix(type, values, V, K);
    const x = new Float32Array(K).fill(1);
    const out = [new Float32Array(V)];
    const result = screenOf(k, w, V).run(x, 1, out);
    const full = fullLogits(k, w, x, 1);
    expect(argmaxOf(full)).toBe(0);
    expectFaithful(out, full, V, result.screened);
  });

  it.each([
    ['F16', GgmlType.F16],
    ['F32', GgmlType.F32],
  ] as const)('%s: finds the largest logit where the activations\' int8 rounding hides it (errors all one way)', (_t, type) => {
    // x: x_0 = 127·t sets the per-token scale 1/t; every other x_i is a_i + 3/8 steps (a_i = −1, 0, 1
    // in turn), so the int8 copy of x is 3/8 of a step low everywhere. Row 0 is 127 weight steps
    // everywhere: its exact logit is 23.625·127·s·t above its approximate one, and its bound (‖ŵ‖₂·‖h − x'‖₂)
    // is within 1 % of that. Row 1 is one weight on x_0, held exactly: the copy ranks it far first,
    // its exact logit is an eighth of a weight step below row 0's, and its own bound is small. A bound
    // on the activations' rounding 15 % too small (or none) drops row 0.
    const K = 64;
    const step = 2 ** -7;
    const t = 2 ** -5;
    const V = 32;
    const values = new Float32Array(V * K);
    for (let i = 0; i < K; i++) values[i] = 127 * step;
    values[K] = 150.5 * step;
    for (let n = 2; n < V; n++) for (let i = 0; i < K; i++) values[n * K + i] = (i === 0 ? 127 : -(n % 50)) * step; // far below
    const w = matrix(type, values, V, K);
    const x = Float32Array.from({ length: K }, (_, i) => (i === 0 ? 127 : ((i % 3) - 1) + 0.375) * t);
    const out = [new Float32Array(V)];
    const result = screenOf(k, w, V).run(x, 1, out);
    const full = fullLogits(k, w, x, 1);
    expect(argmaxOf(full)).toBe(0);
    expect(full[0] - full[1]).toBeCloseTo(0.125 * step * 127 * t, 12);
    expectFaithful(out, full, V, result.screened);
  });

  it('applies a row\'s mask first: the argmax of the masked row, from the allowed tokens only', () => {
    const V = 2000;
    const K = 128;
    const rnd = new SeededRandom(19);
    const w = matrix(GgmlType.F16, Float32Array.from({ length: V * K }, () => rnd.next() - 0.5), V, K);
    const rows = 3;
    const x = Float32Array.from({ length: rows * K }, () => rnd.next() * 2 - 1);
    const full = fullLogits(k, w, x, rows);
    // row 0: no mask; row 1: only odd ids; row 2: everything but the 50 largest logits of the full row
    const banned = new Set(Array.from(full.subarray(2 * V, 3 * V).keys()).sort((a, b) => full[2 * V + b] - full[2 * V + a]).slice(0, 50));
    const masks = [undefined, (l: Float32Array) => l.forEach((_, n) => n % 2 === 0 && (l[n] = -Infinity)), (l: Float32Array) => banned.forEach((n) => (l[n] = -Infinity))];
    const outs = Array.from({ length: rows }, () => new Float32Array(V));
    const result = screenOf(k, w).run(x, rows, outs, masks);
    const masked = full.slice();
    masks.forEach((m, r) => m?.(masked.subarray(r * V, (r + 1) * V)));
    const kept = expectFaithful(outs, masked, V, result.screened);
    for (const n of kept) expect(n).toBeLessThan(V / 16);
    // the masked-out tokens never become candidates
    for (let n = 0; n < V; n += 2) expect(outs[1][n]).toBe(-Infinity);
    for (const n of banned) expect(outs[2][n]).toBe(-Infinity);
  });

  it('leaves rows it cannot screen to the caller: not finite, or too many candidates', () => {
    const V = 256;
    const K = 64;
    const rnd = new SeededRandom(5);
    const w = matrix(GgmlType.F16, Float32Array.from({ length: V * K }, () => rnd.next() - 0.5), V, K);
    const x = new Float32Array(3 * K);
    x.subarray(0, K).forEach((_, i, a) => (a[i] = rnd.next() - 0.5));
    x[K + 3] = NaN; // row 1: not finite
    // row 2: all zeros, every logit ties at 0: all V tokens are candidates, over the default limit
    const outs = Array.from({ length: 3 }, () => new Float32Array(V));
    const result = screenOf(k, w).run(x, 3, outs);
    expect(result.screened).toEqual([true, false, false]);
    expectFaithful(outs.slice(0, 1), fullLogits(k, w, x.subarray(0, K), 1), V, result.screened);
  });
});
