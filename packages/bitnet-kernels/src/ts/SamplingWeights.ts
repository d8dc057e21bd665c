/**
 * weighLogits: the sampler's pass over a whole vocabulary — every id's weight exp((l − max) / T) and
 * its band (how far below the largest logit it lies) — sumExp, the logprobs' normaliser, and
 * expWeight, the exp both use. expWeight is a fixed sequence of double operations
 * (native/src/core/exp_weight.h is the same sequence), so the TypeScript and native kernels give the
 * same bits: Math.exp is not specified to the last bit, and V8's differs from glibc's.
 */

const LOG2E = 1.4426950408889634;
/** ln 2 split: LN2_HI has 32 significant bits, so k · LN2_HI is exact for the k used here. */
const LN2_HI = 6.9314718036912381649e-1;
const LN2_LO = 1.90821492927058770002e-10;
/** 1.5 · 2^52: adding and subtracting it rounds a double below 2^51 in magnitude to an integer, ties to even. */
const ROUND = 6755399441055744;
const LOW = -708;
const HIGH = 709;
/** c_j = 1/j!, j = 0..13 (each the correctly rounded double of the quotient, as in the C++). */
const [C0, C1, C2, C3, C4, C5, C6, C7, C8, C9, C10, C11, C12, C13] = [1, 1, 2, 6, 24, 120, 720, 5040, 40320, 362880, 3628800, 39916800, 479001600, 6227020800].map((f) => 1 / f);
/** 2^k for k = −1022 .. 1023 at k + 1022 (exact powers of two). */
const POW2 = Float64Array.from({ length: 2046 }, (_, i) => 2 ** (i - 1022));

/**
 * e^x for the sampler: k = round(x · log2 e) (ties to even), r = (x − k·ln2_hi) − k·ln2_lo, the
 * degree-13 Taylor polynomial of e^r (Estrin's form: pairs, then r², r⁴, r⁸; separate multiplies and
 * adds), times 2^k. Within 4 ulp; x < −708 gives 0, x > 709 +∞, NaN NaN.
 */
export function expWeight(x: number): number {
  if (!(x >= LOW)) return x < LOW ? 0 : x;
  if (x > HIGH) return Infinity;
  const k = x * LOG2E + ROUND - ROUND;
  const r = x - k * LN2_HI - k * LN2_LO;
  // Estrin's form, the expression tree of exp_poly in native/src/core/exp_weight.h
  const r2 = r * r;
  const r4 = r2 * r2;
  const r8 = r4 * r4;
  const q0 = C0 + C1 * r + (C2 + C3 * r) * r2;
  const q1 = C4 + C5 * r + (C6 + C7 * r) * r2;
  const q2 = C8 + C9 * r + (C10 + C11 * r) * r2;
  const q3 = C12 + C13 * r;
  const p = q0 + q1 * r4 + (q2 + q3 * r4) * r8;
  return p * POW2[k + 1022];
}

/** Band of d = (max − l) · bandScale: trunc(d) for 1 ≤ d < bands − 1, 0 below 1, bands − 1 from there (NaN too). */
function bandOf(d: number, last: number): number {
  return d < last ? (d >= 1 ? d | 0 : 0) : last;
}

/** Kernels.weighLogits (see its contract in api/Kernels.ts). */
export function weighLogits(
  logits: Float32Array,
  max: number,
  temperature: number,
  bandScale: number,
  weights: Float64Array,
  ids: Int32Array,
  bandWeight: Float64Array,
  start: Int32Array,
): number {
  const n = logits.length;
  const last = bandWeight.length - 1;
  bandWeight.fill(0);
  start.fill(0);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const l = logits[i];
    const w = expWeight((l - max) / temperature);
    weights[i] = w;
    sum += w;
    const b = bandOf((max - l) * bandScale, last);
    bandWeight[b] += w;
    start[b + 1]++;
  }
  for (let b = 0; b < last + 1; b++) start[b + 1] += start[b];
  const fill = start.slice(0, last + 1);
  for (let i = 0; i < n; i++) ids[fill[bandOf((max - logits[i]) * bandScale, last)]++] = i;
  return sum;
}

/** Kernels.sumExp: Σ expWeight(x_i − max) over x_i > −∞ in eight lanes (i mod 8), then the lanes combined. */
export function sumExp(x: Float32Array, max: number): number {
  const lanes = new Float64Array(8);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v > -Infinity) lanes[i & 7] += expWeight(v - max);
  }
  return lanes[0] + lanes[4] + (lanes[2] + lanes[6]) + (lanes[1] + lanes[5] + (lanes[3] + lanes[7]));
}
