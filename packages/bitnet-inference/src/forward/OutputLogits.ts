import type { Kernels } from '@bitnet/kernels';
import type { BitnetWeights } from '../model/BitnetWeights';
import type { Linear } from './Linear';
import { LogitScreen } from './LogitScreen';
import { type LogitMask, settleMaskedArgmax } from './MaskedArgmax';

/** What the output screen did so far (outputType 'screened'). */
export interface ScreenStats {
  /** Rows whose logits were screened. */
  screenedRows: number;
  /**
   * Rows that asked for 'argmax' but were computed in full: not finite, too many candidates, or more
   * such rows in one step than the screen takes (ForwardOptions.maxScreenedRows).
   */
  fullRows: number;
  /** Exact logits computed over the screened rows. */
  candidates: number;
}

/**
 * Most argmax-only rows one step screens by default; with more, the whole output matrix is applied to
 * them all. The screen's int8 matmul shares each weight load among up to 8 rows, as the exact matrix's
 * tiles do, and its picks grow with the rows, so it stays ahead at every batch size measured (2B4T
 * I2_S on Zen 4, paired decode steps, screened against exact: 1 row ×1.36, 8 rows ×1.21, 16 rows ×1.21);
 * the limit is the default chunk of a pass.
 */
const MAX_SCREENED_ROWS = 64;

/** Settings of an `OutputLogits` (ForwardOptions passes them on). */
export interface OutputLogitsOptions {
  /** ForwardOptions.reuseLogits. */
  reuseLogits?: boolean;
  /** ForwardOptions.maxScreenedRows. */
  maxScreenedRows?: number;
}

/**
 * The output matrix of a forward pass, applied to its final-normed rows: in full, or through the output
 * screen (LogitScreen) for the rows that only want their argmax, with masks applied or settled as
 * ForwardPart.argmaxMask describes. Keeps the logits buffers and the screen's counters.
 */
export class OutputLogits {
  private readonly reuseLogits: boolean;
  private logitsBuffer = new Float32Array(0);
  private readonly screen: LogitScreen | undefined;
  /** Logits of the rows a screened step computes in full, before they go to their places (kept). */
  private fullLogits = new Float32Array(0);
  private readonly counters: ScreenStats = { screenedRows: 0, fullRows: 0, candidates: 0 };
  private readonly maxScreenedRows: number;

  constructor(
    private readonly weights: BitnetWeights,
    private readonly kernels: Kernels,
    private readonly linear: Linear,
    options: OutputLogitsOptions = {},
  ) {
    this.reuseLogits = options.reuseLogits ?? false;
    if (weights.outputScreen) this.screen = new LogitScreen(kernels, weights.output, weights.outputScreen);
    this.maxScreenedRows = options.maxScreenedRows ?? MAX_SCREENED_ROWS;
  }

  /** Counters of the output screen (all 0 without one). */
  get stats(): Readonly<ScreenStats> {
    return { ...this.counters };
  }

  /**
   * Logits of `count` final-normed rows (`normed`, rows of the embedding length; the screen may reorder
   * a copy, never this array): views of one new array, or of the kept buffer with `reuseLogits`. Rows
   * marked in `argmaxOnly` go through the output screen when there is one (see ForwardPart).
   */
  rows(normed: Float32Array, count: number, argmaxOnly?: readonly boolean[], masks?: readonly (LogitMask | undefined)[]): Float32Array[] {
    const D = this.weights.config.embeddingLength;
    const V = this.weights.output.rows;
    let all: Float32Array;
    if (this.reuseLogits) {
      if (this.logitsBuffer.length < count * V) this.logitsBuffer = new Float32Array(count * V);
      all = this.logitsBuffer.subarray(0, count * V);
    } else all = new Float32Array(count * V);
    const outs = count === 1 ? [all] : Array.from({ length: count }, (_, i) => all.subarray(i * V, (i + 1) * V));
    const wanted = this.screen && argmaxOnly ? outs.map((_, i) => i).filter((i) => argmaxOnly[i]) : [];
    const screenRows = wanted.length <= this.maxScreenedRows ? wanted : [];
    if (screenRows.length === 0) {
      this.counters.fullRows += wanted.length;
      this.linear.apply({ kind: 'float', ...this.weights.output }, normed, count, all);
      outs.forEach((row, i) => this.settle(row, masks?.[i]));
      return outs;
    }
    // the screened rows first (gathered into a new array), then the rest in one full call
    const order = [...screenRows, ...outs.map((_, i) => i).filter((i) => !argmaxOnly![i])];
    const gathered = this.gather(normed, order, D);
    const result = this.screen!.run(gathered, screenRows.length, screenRows.map((i) => outs[i]), screenRows.map((i) => masks?.[i]));
    this.counters.screenedRows += result.screened.filter((s) => s).length;
    this.counters.candidates += result.candidates;
    const full = order.filter((_, j) => j >= screenRows.length || !result.screened[j]);
    this.counters.fullRows += full.length - (order.length - screenRows.length);
    if (full.length > 0) {
      const x = full.length === order.length ? gathered : this.gather(normed, full, D);
      if (full.length > 1 && this.fullLogits.length < full.length * V) this.fullLogits = new Float32Array(full.length * V);
      const logits = full.length === 1 ? outs[full[0]] : this.fullLogits.subarray(0, full.length * V);
      this.linear.apply({ kind: 'float', ...this.weights.output }, x, full.length, logits);
      if (full.length > 1) full.forEach((i, j) => outs[i].set(logits.subarray(j * V, (j + 1) * V)));
      // the screen masked only the approximate logits of the rows it gave back; these come out in full
      for (const i of full) this.settle(outs[i], masks?.[i]);
    }
    return outs;
  }

  /** A full row under a mask: masked, or left with the masked argmax alone when the mask is lazy. */
  private settle(row: Float32Array, mask: LogitMask | undefined): void {
    if (mask) settleMaskedArgmax(row, mask, (l) => this.kernels.argmax(l));
  }

  /** Rows `order` of `x` (rows of `D`), in that order, in a new array. */
  private gather(x: Float32Array, order: readonly number[], D: number): Float32Array {
    const out = new Float32Array(order.length * D);
    order.forEach((i, j) => out.set(x.subarray(i * D, (i + 1) * D), j * D));
    return out;
  }
}
