import { ACTIVATION_FORMATS, type FloatMatrix, type Kernels, type PreparedActivations, type Q8_0Activations, tensorKernel } from '@bitnet/kernels';
import type { OutputScreen } from '../model/BitnetWeights';

/** γ_n = n·u / (1 − n·u), u = 2⁻²⁴: the relative error bound of n rounded f32 additions. */
const gamma = (n: number): number => (n * 2 ** -24) / (1 - n * 2 ** -24);

/** What one `screen` call did, for the counters a caller keeps. */
export interface ScreenResult {
  /** Per row: whether it was screened (false: its values are not finite, or too many tokens stayed in). */
  screened: boolean[];
  /** Exact logits computed, over the screened rows. */
  candidates: number;
}

/**
 * The greedy choice from an output matrix without computing most of its logits. For each row x (a
 * final-normed hidden state), the Q8_0 copy gives approximate logits Â_n; the exact logit L_n (what
 * matmulFloat computes) is then within B_n of Â_n, where, with h = x as the exact kernel takes it
 * (rounded to f16 for an F16 matrix), x' = d·q its Q8_0 quantization and e_b = max over block b of
 * |h − x'|:
 *
 *   |Σ w·h − Σ ŵ·x'| ≤ Σ |w − ŵ|·|h| + Σ |ŵ|·|h − x'| ≤ ε_n·‖h‖₁ + A_n·Σ_b e_b
 *   |L_n − Σ w·h| ≤ γ_K·W_n·‖h‖₁          (any order of K f32 additions, products exact or fused)
 *   |Â_n − Σ ŵ·x'| ≤ γ_{K/32+4}·W_n·‖x'‖₁  (the Q8_0 kernel's per-block f32 steps)
 *
 * with ε_n, A_n, W_n the matrix's per-row bounds (OutputScreen.bounds). Every token whose logit can
 * reach the largest lower bound max(Â − B) is a candidate: the largest exact logit is always one of
 * them, and every other token is strictly below it. The candidates' exact logits are computed
 * (matmulFloatPicked: matmulFloat's bits) and every other logit is −Infinity, so an argmax over the
 * row, ties included, picks what it picks from the full row. Nothing else may read such a row.
 */
export class LogitScreen {
  private readonly exactFormat;
  private acts: Q8_0Activations | undefined;
  private exactActs: PreparedActivations | undefined;
  private approx = new Float32Array(0);
  private rowsAllocated = 0;
  /** A row's running candidates (ids and upper bounds), kept between calls. */
  private readonly ids: Int32Array;
  private readonly uppers: Float64Array;

  constructor(
    private readonly kernels: Kernels,
    private readonly output: FloatMatrix,
    private readonly screen: OutputScreen,
    /** Candidates above which a row is left to the full matrix (the screen then saves little). */
    private readonly maxCandidates = Math.ceil(output.rows / 16),
  ) {
    this.exactFormat = ACTIVATION_FORMATS[tensorKernel(output.type).activation];
    this.ids = new Int32Array(2 * maxCandidates + 64);
    this.uppers = new Float64Array(this.ids.length);
  }

  /**
   * Rows `x` (rows × cols, final-normed): fills outs[r] (output.rows floats) for every row it can
   * screen and reports which; the caller computes the others in full.
   */
  run(x: Float32Array, rows: number, outs: readonly Float32Array[]): ScreenResult {
    const k = this.kernels;
    const K = this.output.cols;
    const V = this.output.rows;
    this.ensure(rows);
    const xs = x.subarray(0, rows * K);
    const acts = this.acts!;
    const q8Acts: Q8_0Activations = rows === acts.rows ? acts : { rows, cols: K, qs: acts.qs.subarray(0, rows * K), d: acts.d.subarray(0, (rows * K) / 32) };
    k.quantizeQ8_0(xs, rows, K, q8Acts);
    const approx = this.approx.subarray(0, rows * V);
    k.matmulQ8_0Q8_0(this.screen.q8, q8Acts, approx);
    const h = (this.exactFormat.prepare(k, xs, rows, K, this.exactActs) as Float32Array).subarray(0, rows * K);

    const screened: boolean[] = [];
    const wRows: number[] = [];
    const xRows: number[] = [];
    const starts: number[] = [];
    for (let r = 0; r < rows; r++) {
      starts.push(wRows.length);
      const kept = this.candidatesOf(approx.subarray(r * V, (r + 1) * V), h.subarray(r * K, (r + 1) * K), q8Acts, r);
      if (kept === undefined) {
        screened.push(false);
        continue;
      }
      screened.push(true);
      for (const n of kept) {
        wRows.push(n);
        xRows.push(r);
      }
    }
    starts.push(wRows.length);
    const exact = new Float32Array(wRows.length);
    if (wRows.length > 0) k.matmulFloatPicked(this.output, h, rows, Int32Array.from(wRows), Int32Array.from(xRows), exact);
    for (let r = 0; r < rows; r++) {
      if (!screened[r]) continue;
      const out = outs[r];
      out.fill(-Infinity);
      for (let j = starts[r]; j < starts[r + 1]; j++) out[wRows[j]] = exact[j];
    }
    return { screened, candidates: wRows.length };
  }

  /** The tokens row r cannot rule out, or undefined when the row is not finite or keeps too many. */
  private candidatesOf(approx: Float32Array, h: Float32Array, a: Q8_0Activations, r: number): number[] | undefined {
    const K = h.length;
    let h1 = 0;
    let x1 = 0;
    let errors = 0;
    for (let b = 0; b < K / 32; b++) {
      const d = a.d[r * (K / 32) + b];
      let e = 0;
      for (let i = b * 32; i < b * 32 + 32; i++) {
        const xq = d * a.qs[r * K + i];
        h1 += Math.abs(h[i]);
        x1 += Math.abs(xq);
        e = Math.max(e, Math.abs(h[i] - xq));
      }
      errors += e;
    }
    // The bound's three coefficients, a little larger than computed: the double arithmetic here (sums
    // of at most K terms, a few products) is off by far less than 1e-9 of any of them.
    const up = 1 + 1e-9;
    const c0 = h1 * up;
    const c1 = errors * up;
    const c2 = (gamma(K) * h1 + gamma(K / 32 + 4) * x1) * up;
    if (!Number.isFinite(c0 + c1 + c2)) return undefined;
    const bounds = this.screen.bounds;
    const V = approx.length;
    // One pass: the largest lower bound so far, and every token whose upper bound reaches it (the
    // floor only rises, so the list keeps every final candidate; it is filtered at the end). The
    // comparisons' own rounding is covered by a margin far above a double's error at these magnitudes.
    const margin = (v: number) => v - 1e-12 * (1 + Math.abs(v));
    let floor = -Infinity;
    let reach = -Infinity;
    const ids = this.ids;
    const uppers = this.uppers;
    let count = 0;
    for (let n = 0; n < V; n++) {
      const a = approx[n];
      const b = bounds[3 * n] * c0 + bounds[3 * n + 1] * c1 + bounds[3 * n + 2] * c2;
      const lower = a - b;
      if (lower > floor) {
        floor = lower;
        reach = margin(floor);
      } else if (lower !== lower) return undefined; // NaN: leave the row to the full matrix
      const upper = a + b;
      if (upper >= reach) {
        if (count === ids.length) {
          // compact: drop what the risen floor has ruled out, then give up if still full
          let kept = 0;
          for (let j = 0; j < count; j++) if (uppers[j] >= reach) (ids[kept] = ids[j]), (uppers[kept++] = uppers[j]);
          count = kept;
          if (count === ids.length) return undefined;
        }
        ids[count] = n;
        uppers[count++] = upper;
      }
    }
    if (!Number.isFinite(floor)) return undefined;
    const kept: number[] = [];
    for (let j = 0; j < count; j++) {
      if (uppers[j] >= reach) {
        if (kept.length >= this.maxCandidates) return undefined;
        kept.push(ids[j]);
      }
    }
    return kept;
  }

  private ensure(rows: number): void {
    if (rows <= this.rowsAllocated) return;
    const K = this.output.cols;
    this.acts = ACTIVATION_FORMATS.q8_0.alloc(rows, K) as Q8_0Activations;
    this.exactActs = this.exactFormat.alloc(rows, K);
    this.approx = new Float32Array(rows * this.output.rows);
    this.rowsAllocated = rows;
  }
}
