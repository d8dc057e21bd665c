import type { AttentionCall, AttentionShape, Kernels } from '@bitnet/kernels';
import type { BitnetWeights } from '../model/BitnetWeights';
import type { KvCache } from '../model/KvCache';
import { Linear } from './Linear';
import type { LogitMask } from './MaskedArgmax';
import { OutputLogits, type ScreenStats } from './OutputLogits';

/** One sequence's share of a `stepMany` pass. */
export interface ForwardPart {
  cache: KvCache;
  /** Ids appended to the cache at its next positions. */
  ids: ArrayLike<number>;
  /**
   * Whether to return the logits of the last id: true for all of them; 'argmax' when the caller only
   * takes their largest (greedy, nothing adjusted): with a screened output (outputType 'screened') the
   * row then holds exact logits for the tokens that could be largest and −Infinity elsewhere.
   */
  wantLogits: boolean | 'argmax';
  /**
   * A mask (a grammar's) the returned row comes back with: its argmax is then the masked row's argmax,
   * and every token the mask bans is −Infinity in it, so the caller need not apply it again. A row the
   * screen takes (wantLogits 'argmax' with a screened output) is masked on its approximate logits before
   * the candidates are chosen, so that only allowed tokens become candidates and the largest allowed
   * logit is exact, as without a mask; a row the screen tries and then leaves to the full matrix (its
   * values are not finite, or too many tokens stay in) is masked again on its exact logits. A mask with
   * `allows` is lazy (see settleMaskedArgmax and LogitScreen.run): it is called only when none of the
   * row's largest logits is an allowed token, and the row may come back with that token's logit alone.
   * Not called when the part gets no row.
   */
  argmaxMask?: LogitMask;
}

/** Settings of a `ForwardPass`. */
export interface ForwardOptions {
  /** Most tokens one pass processes at once; longer inputs are split into chunks (default 64). */
  maxChunkTokens?: number;
  /**
   * Write logits into one buffer kept by the pass (grown to the largest batch seen) instead of a new
   * array per call: the returned arrays are then views that the next call overwrites. For a caller
   * that consumes the logits before the next step (the engine's scheduler); saves a fresh, zero-filled
   * allocation of 0.5 MB per row per step (128256 × f32 for LLaMA-3). Default false.
   */
  reuseLogits?: boolean;
  /**
   * Most argmax-only rows one step screens (outputType 'screened'); a step with more computes them
   * all with the full output matrix. Default 64 (see OutputLogits).
   */
  maxScreenedRows?: number;
}

/** Scratch activations for up to `tokens` rows. */
class Workspace {
  readonly x: Float32Array;
  readonly normed: Float32Array;
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly attn: Float32Array;
  readonly proj: Float32Array;
  readonly gate: Float32Array;
  readonly up: Float32Array;
  readonly hidden: Float32Array;
  readonly positions: Int32Array;

  constructor(readonly tokens: number, dim: number, kvDim: number, ff: number) {
    this.x = new Float32Array(tokens * dim);
    this.normed = new Float32Array(tokens * Math.max(dim, ff));
    this.q = new Float32Array(tokens * dim);
    this.k = new Float32Array(tokens * kvDim);
    this.v = new Float32Array(tokens * kvDim);
    this.attn = new Float32Array(tokens * dim);
    this.proj = new Float32Array(tokens * dim);
    this.gate = new Float32Array(tokens * ff);
    this.up = new Float32Array(tokens * ff);
    this.hidden = new Float32Array(tokens * ff);
    this.positions = new Int32Array(tokens);
  }
}

/**
 * The BitNet decoder forward pass over the kernel interface. `bitnet-b1.58` and `bitnet` share the
 * graph; they differ in the FFN activation (ReLU² vs SiLU), the `.scale` multipliers and, through the
 * weight types, in how activations are quantized (see Linear).
 */
export class ForwardPass {
  private readonly linear: Linear;
  private readonly ws: Workspace;
  /** llama.cpp's kq_scale: 1.0f / sqrtf(float(head_dim)), both steps in f32. */
  private readonly attnScale: number;
  private readonly output: OutputLogits;

  constructor(
    readonly weights: BitnetWeights,
    readonly kernels: Kernels,
    options: ForwardOptions = {},
  ) {
    const c = weights.config;
    const chunk = options.maxChunkTokens ?? 64;
    this.linear = new Linear(kernels);
    this.ws = new Workspace(chunk, c.embeddingLength, c.headCountKv * c.headDim, c.feedForwardLength);
    this.attnScale = Math.fround(1 / Math.fround(Math.sqrt(c.headDim)));
    this.output = new OutputLogits(weights, kernels, this.linear, options);
  }

  /** Counters of the output screen (all 0 without one). */
  get screenStats(): Readonly<ScreenStats> {
    return this.output.stats;
  }

  get maxChunkTokens(): number {
    return this.ws.tokens;
  }

  /**
   * Runs `tokens` at positions cache.length.. through the model, appending their keys and values to
   * the cache, and returns the logits of the last token (vocabSize floats: a new array, or with `reuseLogits` a view the next call overwrites).
   * `onChunk` is called between chunks (cancellation points).
   */
  run(cache: KvCache, tokens: ArrayLike<number>, onChunk?: () => void): Float32Array {
    if (tokens.length === 0) throw new RangeError('forward pass needs at least one token');
    // checked for the whole input before the first chunk touches the cache
    this.checkCapacity(cache, tokens.length);
    const ids = Int32Array.from(tokens);
    let logits: Float32Array | undefined;
    for (let start = 0; start < ids.length; start += this.ws.tokens) {
      if (start > 0) onChunk?.();
      const end = Math.min(ids.length, start + this.ws.tokens);
      logits = this.step(cache, ids.subarray(start, end), end === ids.length);
    }
    return logits!;
  }

  /**
   * One step: at most maxChunkTokens tokens appended to the cache; returns the last token's logits
   * when `wantLogits` (a prefill chunk that is not the prompt's last does not need them).
   */
  step(cache: KvCache, tokens: ArrayLike<number>, wantLogits: boolean): Float32Array | undefined {
    if (tokens.length === 0 || tokens.length > this.ws.tokens) {
      throw new RangeError(`a step takes 1 to ${this.ws.tokens} tokens, got ${tokens.length}`);
    }
    this.checkCapacity(cache, tokens.length);
    const ids = tokens instanceof Int32Array ? tokens : Int32Array.from(tokens);
    this.chunk(cache, ids);
    return wantLogits ? this.logitsOfRows(ids.length - 1, 1)[0] : undefined;
  }

  private checkCapacity(cache: KvCache, count: number): void {
    if (cache.length + count > cache.capacity) {
      throw new RangeError(`${cache.length} cached + ${count} new positions exceed the cache capacity ${cache.capacity}`);
    }
  }

  /**
   * One decode step for several sequences at once (continuous batching): token i is appended to
   * caches[i] at its own next position, and every weight matrix is applied to all rows in one call,
   * so the weights are read once per step instead of once per sequence. Returns each row's logits.
   * Rows never mix: every kernel computes a row the same way whatever else is in the call, so a
   * sequence gets the same logits here as in `step` on its own.
   */
  decodeBatch(caches: readonly KvCache[], tokens: ArrayLike<number>, argmaxOnly?: readonly boolean[], argmaxMasks?: readonly (LogitMask | undefined)[]): Float32Array[] {
    const B = caches.length;
    if (B === 0 || B > this.ws.tokens || tokens.length !== B) {
      throw new RangeError(`a batched decode takes 1 to ${this.ws.tokens} sequences with one token each, got ${B} caches and ${tokens.length} tokens`);
    }
    return this.stepMany(caches.map((cache, i) => ({ cache, ids: [tokens[i]], wantLogits: argmaxOnly?.[i] ? 'argmax' : true, argmaxMask: argmaxMasks?.[i] }))) as Float32Array[];
  }

  /**
   * One pass over several sequences' rows at once: each part appends its ids to its own cache (a
   * decode token, or a prefill chunk), all rows go through every weight matrix together (at most
   * maxChunkTokens rows in all), and each part that wants them gets its last row's logits. As in
   * decodeBatch, rows never mix, so each part gets exactly what `step` would give it alone.
   */
  stepMany(parts: readonly ForwardPart[]): Array<Float32Array | undefined> {
    const total = parts.reduce((n, p) => n + p.ids.length, 0);
    if (parts.length === 0 || total > this.ws.tokens || parts.some((p) => p.ids.length === 0)) {
      throw new RangeError(`a step takes 1 to ${this.ws.tokens} rows, each part at least one, got ${parts.map((p) => p.ids.length).join(' + ') || 'none'}`);
    }
    if (new Set(parts.map((p) => p.cache)).size !== parts.length) throw new RangeError('a step needs distinct caches, one per part');
    for (const p of parts) this.checkCapacity(p.cache, p.ids.length);
    const ids = new Int32Array(total);
    const positions = this.ws.positions.subarray(0, total);
    const rows: number[] = [];
    let row = 0;
    for (const p of parts) {
      rows.push(row);
      for (let j = 0; j < p.ids.length; j++, row++) {
        ids[row] = p.ids[j];
        positions[row] = p.cache.length + j;
      }
    }
    const starts = parts.map((p) => p.cache.length);
    // every part's keys and values stored and all parts' attention run in one kernel call (one pass over
    // the native pool for the whole batch instead of a store and an attention per sequence)
    this.layers(ids, positions, (l, kk, vv, q, attn) => {
      this.kernels.attentionMany(parts.map((p, i) => this.attentionCall(p.cache, l, rows[i], kk, vv, q, attn, starts[i], p.ids.length)));
    });
    for (const p of parts) p.cache.length += p.ids.length;
    // The last rows of the parts that want logits, gathered in order into rows 0.. (a source row is
    // never before its destination, nor a later destination).
    const D = this.weights.config.embeddingLength;
    const x = this.ws.x;
    const wanted: number[] = [];
    parts.forEach((p, i) => {
      if (!p.wantLogits) return;
      const last = rows[i] + p.ids.length - 1;
      if (last !== wanted.length) x.copyWithin(wanted.length * D, last * D, (last + 1) * D);
      wanted.push(i);
    });
    const out: Array<Float32Array | undefined> = parts.map(() => undefined);
    const argmaxOnly = wanted.map((i) => parts[i].wantLogits === 'argmax');
    const masks = wanted.map((i) => parts[i].argmaxMask);
    if (wanted.length > 0) this.logitsOfRows(0, wanted.length, argmaxOnly, masks).forEach((lg, k) => (out[wanted[k]] = lg));
    return out;
  }

  private chunk(cache: KvCache, ids: Int32Array): void {
    const T = ids.length;
    const start = cache.length;
    const positions = this.ws.positions.subarray(0, T);
    for (let t = 0; t < T; t++) positions[t] = start + t;
    // Attention computes every query row with the one-token arithmetic, exactly as a decode step
    // does (independentRows): the kernel's batch formula (llama.cpp's tinyBLAS) sums in another order,
    // so a row's numbers would depend on the chunk it came in. Every other kernel computes each row on
    // its own, so a token's logits are the same bit for bit however its prompt was chunked, and the
    // same as when it was decoded (a resumed generation relies on it; see ChunkInvariance.spec.ts).
    this.layers(ids, positions, (l, kk, vv, q, attn) => this.attend(cache, l, 0, kk, vv, q, attn, start, T));
    cache.length = start + T;
  }

  /**
   * Stores rows [row, row + T) of this layer's keys and values in `cache` at positions start.. and
   * runs causal attention of the matching query rows over the cache, each row with the one-token
   * arithmetic (as if decoded alone).
   */
  private attend(cache: KvCache, l: number, row: number, kk: Float32Array, vv: Float32Array, q: Float32Array, attn: Float32Array, start: number, T: number): void {
    this.kernels.attentionMany([this.attentionCall(cache, l, row, kk, vv, q, attn, start, T)]);
  }

  /** attend's call: it stores the rows' keys and values (AttentionCall.store), then attends over the cache. */
  private attentionCall(cache: KvCache, l: number, row: number, kk: Float32Array, vv: Float32Array, q: Float32Array, attn: Float32Array, start: number, T: number): AttentionCall {
    const c = this.weights.config;
    const kvDim = c.headCountKv * c.headDim;
    const D = c.embeddingLength;
    const src = row * kvDim;
    const shape: AttentionShape = { tokens: T, heads: c.headCount, kvHeads: c.headCountKv, headDim: c.headDim, startPos: start, capacity: cache.capacity, scale: this.attnScale, independentRows: true };
    if (cache.blocks) {
      // a paged cache: the kernels follow its block table through the shared arena
      shape.blocks = cache.blocks;
      shape.blockTokens = cache.blockTokens;
    }
    return {
      q: q.subarray(row * D, (row + T) * D),
      kCache: cache.keys[l],
      vCache: cache.values[l],
      shape,
      out: attn.subarray(row * D, (row + T) * D),
      store: { k: kk.subarray(src, src + T * kvDim), v: vv.subarray(src, src + T * kvDim) },
    };
  }

  /**
   * The decoder layers over rows `ids` at `positions` (one row per token; the rows may belong to
   * one sequence or to several). `attend(l, k, v, q, out)` stores the layer's keys and values and
   * writes the attention output of every row.
   */
  private layers(
    ids: Int32Array,
    positions: Int32Array,
    attend: (layer: number, k: Float32Array, v: Float32Array, q: Float32Array, out: Float32Array) => void,
  ): void {
    const c = this.weights.config;
    const k = this.kernels;
    const ws = this.ws;
    const T = ids.length;
    const D = c.embeddingLength;
    const FF = c.feedForwardLength;
    const kvDim = c.headCountKv * c.headDim;
    const x = ws.x.subarray(0, T * D);
    const normed = ws.normed.subarray(0, T * D);
    const normedFf = ws.normed.subarray(0, T * FF);
    const q = ws.q.subarray(0, T * D);
    const kk = ws.k.subarray(0, T * kvDim);
    const vv = ws.v.subarray(0, T * kvDim);
    const attn = ws.attn.subarray(0, T * D);
    const proj = ws.proj.subarray(0, T * D);
    const gate = ws.gate.subarray(0, T * FF);
    const up = ws.up.subarray(0, T * FF);
    const hidden = ws.hidden.subarray(0, T * FF);
    const eps = c.rmsNormEps;
    const emb = this.weights.tokenEmbedding;
    const { kind: _kind, ...embMatrix } = emb;
    k.getRows(embMatrix as never, ids, x);

    for (let l = 0; l < this.weights.layers.length; l++) {
      const L = this.weights.layers[l];
      k.rmsNorm(x, T, D, L.attnNorm, eps, normed);
      this.linear.applyAll([L.attnQ, L.attnK, L.attnV], normed, T, [q, kk, vv], [L.scales.attn_q, L.scales.attn_k, L.scales.attn_v]);
      k.ropeNeox(q, T, c.headCount, c.headDim, c.ropeDimensionCount, positions, c.ropeFreqBase);
      k.ropeNeox(kk, T, c.headCountKv, c.headDim, c.ropeDimensionCount, positions, c.ropeFreqBase);
      attend(l, kk, vv, q, attn);
      k.rmsNorm(attn, T, D, L.attnSubNorm, eps, normed);
      this.linear.apply(L.attnOutput, normed, T, proj, L.scales.attn_output);
      k.add(x, proj, x);

      k.rmsNorm(x, T, D, L.ffnNorm, eps, normed);
      this.linear.applyAll([L.ffnGate, L.ffnUp], normed, T, [gate, up], [L.scales.ffn_gate, L.scales.ffn_up]);
      if (c.ffnActivation === 'relu2') k.reluSqrMul(gate, up, hidden);
      else k.siluMul(gate, up, hidden);
      k.rmsNorm(hidden, T, FF, L.ffnSubNorm, eps, normedFf);
      this.linear.apply(L.ffnDown, normedFf, T, proj, L.scales.ffn_down);
      k.add(x, proj, x);
    }
  }

  /**
   * Logits of workspace rows first..first+count-1: the final norm, then the output matrix (OutputLogits)
   * on all of them at once.
   */
  private logitsOfRows(first: number, count: number, argmaxOnly?: readonly boolean[], masks?: readonly (LogitMask | undefined)[]): Float32Array[] {
    const c = this.weights.config;
    const D = c.embeddingLength;
    const normed = this.ws.normed.subarray(0, count * D);
    this.kernels.rmsNorm(this.ws.x.subarray(first * D, (first + count) * D), count, D, this.weights.outputNorm, c.rmsNormEps, normed);
    return this.output.rows(normed, count, argmaxOnly, masks);
  }
}
