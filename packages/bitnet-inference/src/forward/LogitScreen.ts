import { ACTIVATION_FORMATS, allocI8Activations, type FloatMatrix, type I8Activations, type Kernels, type PreparedActivations, tensorKernel } from '@bitnet/kernels';
import type { OutputScreen } from '../model/BitnetWeights';
import type { LogitMask } from './MaskedArgmax';

/** γ_n = n·u / (1 − n·u), u = 2⁻²⁴: the relative error bound of n rounded f32 operations. */
const gamma = (n: number): number => (n * 2 ** -24) / (1 - n * 2 ** -24);

/** What one `screen` call did, for the counters a caller keeps. */
export interface ScreenResult {
  /** Per row: whether it was screened (false: its values are not finite, or too many tokens stayed in). */
  screened: boolean[];
  /** Exact logits computed, over the screened rows. */
  candidates: number;
}

/** One `run`'s rows as screenRows takes them. */
interface ScreenStep {
  rows: number;
  approx: Float32Array;
  h: Float32Array;
  acts: I8Activations;
  outs: readonly Float32Array[];
  screened: boolean[];
}

/**
 * The greedy choice from an output matrix without computing most of its logits. For each row x (a
 * final-normed hidden state), the int8 copy gives approximate logits Â_n (matmulI8rI8 of x's per-token
 * int8 quantization x' = q / s); the exact logit L_n (what matmulFloat computes) is then within B_n of
 * Â_n, where h = x as the exact kernel takes it (rounded to f16 for an F16 matrix), ŵ_n the copy's row
 * and e_n ≥ ‖w_n − ŵ_n‖₂, v_n ≥ ‖ŵ_n‖₂ the matrix's per-row bounds (OutputScreen.bounds):
 *
 *   |Σ w·h − Σ ŵ·x'| ≤ ‖w − ŵ‖₂·‖h‖₂ + ‖ŵ‖₂·‖h − x'‖₂          (Cauchy–Schwarz, twice)
 *   |L_n − Σ w·h| ≤ γ_K·Σ|w·h| ≤ γ_K·(e_n + v_n)·‖h‖₂   (any order of K f32 additions, products exact or fused)
 *   |Â_n − Σ ŵ·x'| ≤ γ_3·Σ|ŵ·x'| ≤ γ_3·v_n·‖x'‖₂         (the int8 sum is exact; three f32 roundings follow)
 *
 * so B_n = e_n·c0 + v_n·c1 with c0 = (1 + γ_K)·‖h‖₂ and c1 = ‖h − x'‖₂ + γ_K·‖h‖₂ + γ_3·‖x'‖₂ (values in
 * f32's normal range). Every token whose logit can reach the largest lower bound max(Â − B) is a
 * candidate (screenCandidates): the largest exact logit is always one of them, and every other token is
 * strictly below it. The candidates' exact logits are computed (matmulFloatPicked: matmulFloat's bits)
 * and every other logit is −Infinity, so an argmax over the row, ties included, picks what it picks
 * from the full row. Nothing else may read such a row.
 */
export class LogitScreen {
  private readonly exactFormat;
  private acts: I8Activations | undefined;
  private exactActs: PreparedActivations | undefined;
  private approx = new Float32Array(0);
  private rowsAllocated = 0;
  /** One row's candidates, as screenCandidates writes them. */
  private readonly ids: Int32Array;

  constructor(
    private readonly kernels: Kernels,
    private readonly output: FloatMatrix,
    private readonly screen: OutputScreen,
    /** Candidates above which a row is left to the full matrix (the screen then saves little). */
    maxCandidates = Math.ceil(output.rows / 16),
  ) {
    this.exactFormat = ACTIVATION_FORMATS[tensorKernel(output.type).activation];
    this.ids = new Int32Array(maxCandidates);
  }

  /**
   * Rows `x` (rows × cols, final-normed): fills outs[r] (output.rows floats) for every row it can
   * screen and reports which; the caller computes the others in full. masks[r]: row r's argmax is taken
   * after this mask, so it is applied to the approximate logits first (only allowed tokens are kept).
   * A mask with `allows` is lazy: its row is screened unmasked, and only when the largest exact logit
   * found belongs to a token it bans is the row screened again, masked (the unmasked winner, allowed,
   * is the masked argmax too).
   */
  run(x: Float32Array, rows: number, outs: readonly Float32Array[], masks?: readonly (LogitMask | undefined)[]): ScreenResult {
    const k = this.kernels;
    const K = this.output.cols;
    const V = this.output.rows;
    this.ensure(rows);
    const xs = x.subarray(0, rows * K);
    const all = this.acts!;
    const acts: I8Activations = rows === all.rows ? all : { rows, cols: K, qs: all.qs.subarray(0, rows * K), scales: all.scales.subarray(0, rows), sums: all.sums.subarray(0, rows) };
    k.quantizeI8PerToken(xs, rows, K, acts);
    const approx = this.approx.subarray(0, rows * V);
    k.matmulI8rI8(this.screen.copy, acts, approx);
    const h = (this.exactFormat.prepare(k, xs, rows, K, this.exactActs) as Float32Array).subarray(0, rows * K);
    const step: ScreenStep = { rows, approx, h, acts, outs, screened: new Array<boolean>(rows).fill(false) };
    const lazy = (r: number) => masks?.[r]?.allows !== undefined;
    let candidates = this.screenRows(step, [...Array(rows).keys()], (r) => (lazy(r) ? undefined : masks?.[r]));
    const again: number[] = [];
    for (let r = 0; r < rows; r++) {
      if (!step.screened[r] || !lazy(r)) continue;
      const top = k.argmax(outs[r]);
      if (!(outs[r][top] > -Infinity && masks![r]!.allows!(top))) again.push(r);
    }
    if (again.length > 0) candidates += this.screenRows(step, again, (r) => masks![r]);
    return { screened: step.screened, candidates };
  }

  /**
   * Screens rows `which` of a step: each row's approximate logits masked by maskOf(row) when it gives
   * one, its candidates chosen, their exact logits computed into its out row (−Infinity elsewhere);
   * marks in step.screened which rows it could screen. Returns the exact logits computed.
   */
  private screenRows(step: ScreenStep, which: readonly number[], maskOf: (r: number) => LogitMask | undefined): number {
    const { rows, approx, h, acts, outs } = step;
    const K = this.output.cols;
    const V = this.output.rows;
    // every screened row's candidates as one key each, token · rows + row
    const keys: number[] = [];
    for (const r of which) {
      maskOf(r)?.(approx.subarray(r * V, (r + 1) * V));
      const count = this.candidatesOf(approx.subarray(r * V, (r + 1) * V), h.subarray(r * K, (r + 1) * K), acts, r);
      step.screened[r] = count >= 0;
      if (count >= 0) outs[r].fill(-Infinity);
      for (let j = 0; j < count; j++) keys.push(this.ids[j] * rows + r);
    }
    if (keys.length === 0) return 0;
    // picked in token order: the exact matrix's rows are then read front to back, each once for all
    // the rows that keep its token
    const sorted = Int32Array.from(keys).sort();
    const wRow = new Int32Array(sorted.length);
    const xRow = new Int32Array(sorted.length);
    for (let j = 0; j < sorted.length; j++) {
      wRow[j] = Math.floor(sorted[j] / rows);
      xRow[j] = sorted[j] - wRow[j] * rows;
    }
    const exact = new Float32Array(sorted.length);
    this.kernels.matmulFloatPicked(this.output, h, rows, wRow, xRow, exact);
    for (let j = 0; j < sorted.length; j++) outs[xRow[j]][wRow[j]] = exact[j];
    return sorted.length;
  }

  /** Row r's candidates into this.ids: their count, or −1 when the row is not finite or keeps too many. */
  private candidatesOf(approx: Float32Array, h: Float32Array, a: I8Activations, r: number): number {
    const K = h.length;
    const s = a.scales[r];
    let h2 = 0;
    let d2 = 0;
    let x2 = 0;
    for (let i = 0; i < K; i++) {
      const xq = a.qs[r * K + i] / s;
      h2 += h[i] * h[i];
      d2 += (h[i] - xq) * (h[i] - xq);
      x2 += xq * xq;
    }
    const hn = Math.sqrt(h2);
    // The coefficients, a little larger than computed: the double arithmetic here (sums of K squares,
    // square roots, a few products) is off by far less than 1e-9 of any of them.
    const up = 1 + 1e-9;
    const c0 = (1 + gamma(K)) * hn * up;
    const c1 = (Math.sqrt(d2) + gamma(K) * hn + gamma(3) * Math.sqrt(x2)) * up;
    if (!Number.isFinite(c0 + c1)) return -1;
    const count = this.kernels.screenCandidates(approx, this.screen.bounds, c0, c1, this.ids);
    return count < 0 ? -1 : count;
  }

  private ensure(rows: number): void {
    if (rows <= this.rowsAllocated) return;
    const K = this.output.cols;
    this.acts = allocI8Activations(rows, K);
    this.exactActs = this.exactFormat.alloc(rows, K);
    this.approx = new Float32Array(rows * this.output.rows);
    this.rowsAllocated = rows;
  }
}
