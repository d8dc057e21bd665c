/**
 * The order a draw walks a vocabulary's tokens in — logit descending, the lower id first on ties — for
 * as far as a draw needs it, without sorting the whole vocabulary. With top-k off (OpenAI's default)
 * a draw used to sort all 128256 ids with a comparator: ~40–55 ms a token, more than the forward pass.
 *
 * `reset` weighs every id (exp((logit − max) / temperature), the exp being @bitnet/kernels' expWeight,
 * the same bits natively and in TypeScript) and puts it in one of BANDS bands by how far its logit
 * lies below the largest, in steps of a quarter of the temperature (the last band takes everything
 * further, −∞ included), keeping each band's total weight: one kernel call (weighLogits), ~0.5 ms
 * natively for 128256 ids where the loop in JavaScript took ~2.6 ms. The bands
 * are ranges of logits, highest first, so the bands in turn, each sorted, are exactly the full order.
 * A band is sorted only when asked (a numeric sort of composite keys: the logit's order as an integer,
 * then the id); a draw sorts the one or two bands its cuts and its landing point fall in, and steps
 * over the others by their totals.
 */

import { type Kernels, weighLogits } from '@bitnet/kernels';

/** Bands: PER_UNIT a unit of (max − logit) / temperature, so the first 127 reach 31.75 (weight e^−31.75). */
const NB = 128;
export const BANDS = NB;
const PER_UNIT = 4;

/** Kernels.weighLogits: the weights, band totals and ids grouped by band of a vocabulary (@bitnet/kernels). */
export type WeighLogits = Kernels['weighLogits'];

export class CandidateOrder {
  /** Ids grouped by band (band b at [start[b], start[b + 1])), a band in walk order once sorted. */
  ids = new Int32Array(0);
  /** Each id's weight expWeight((logit − max) / temperature). */
  weights = new Float64Array(0);
  /** Σ weights, in id order. */
  sum = 0;
  /** Each band's Σ weights, in id order. */
  readonly bandWeight = new Float64Array(NB);
  readonly start = new Int32Array(NB + 1);
  private keys = new Float64Array(0);
  private readonly isSorted = new Uint8Array(NB);
  private readonly f32 = new Float32Array(1);
  private readonly u32 = new Uint32Array(this.f32.buffer);
  private logits: Float32Array = new Float32Array(0);
  private radix = 1;

  /** `weigh`: the kernels' weighLogits (native when the engine has them), else the TypeScript one. */
  constructor(private readonly weigh: WeighLogits = weighLogits) {}

  /** Weighs and bands the ids of `logits` (n ≤ 2^21) against their largest value `max` (finite) at `temperature` (> 0). */
  reset(logits: Float32Array, max: number, temperature: number): void {
    const n = logits.length;
    if (n > 1 << 21) throw new RangeError(`CandidateOrder takes at most 2^21 ids, got ${n}`);
    if (this.ids.length < n) {
      this.ids = new Int32Array(n);
      this.weights = new Float64Array(n);
      this.keys = new Float64Array(n);
    }
    this.logits = logits;
    this.radix = 2 ** Math.max(1, Math.ceil(Math.log2(n)));
    this.isSorted.fill(0);
    // Bands by (max − l) · PER_UNIT / temperature, monotone in l: equal logits share a band and bands
    // are ranges; −∞ and NaN go last. Weights, band totals and the ids grouped by band (ascending in
    // each) come from the kernel.
    this.sum = this.weigh(logits, max, temperature, PER_UNIT / temperature, this.weights.subarray(0, n), this.ids.subarray(0, n), this.bandWeight, this.start);
  }

  /** The first k ids in walk order (a view, valid until the next reset). */
  prefix(k: number): Int32Array {
    for (let b = 0; b < NB && this.start[b] < k; b++) this.sortBand(b);
    return this.ids.subarray(0, k);
  }

  /** Puts band b's ids in walk order (once). */
  sortBand(b: number): void {
    if (this.isSorted[b]) return;
    this.isSorted[b] = 1;
    const lo = this.start[b], hi = this.start[b + 1];
    if (hi - lo < 2) return;
    const keys = this.keys.subarray(lo, hi);
    for (let j = lo; j < hi; j++) keys[j - lo] = this.key(this.ids[j]);
    keys.sort();
    for (let j = lo; j < hi; j++) this.ids[j] = keys[j - lo] % this.radix;
  }

  /**
   * An integer key ascending in walk order: the logit's float32 bits turned into a descending order
   * (−0 as +0: equal logits tie), times the radix, plus the id. Below 2^53, so a float64 holds it exactly.
   */
  private key(id: number): number {
    const l = this.logits[id];
    this.f32[0] = l === 0 ? 0 : l;
    const bits = this.u32[0];
    const ascending = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
    return (0xffffffff - ascending) * this.radix + id;
  }
}
