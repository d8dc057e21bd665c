import {
  GgmlType,
  GgufFile,
  GgufTensorInfo,
  LAYER_MATMULS,
  LayerMatmul,
  ModelConfig,
  ModelTensors,
  dequantizeRows,
  ggmlTensorByteSize,
  ggmlTypeName,
  encodeQ8_0Blocks,
  readModelConfig,
  repackTq1_0AsTq2_0,
  resolveModelTensors,
  describeValue,
} from '@bitnet/models';
import type { FloatMatrix, I8rMatrix, Kernels, PageMemory, TernaryMatrix } from '@bitnet/kernels';

/** A projection weight: ternary (integer kernels) or float/k-quant (f32 kernels). */
export type WeightMatrix = ({ kind: 'ternary' } & TernaryMatrix) | ({ kind: 'float' } & FloatMatrix);

/** The weights of one transformer layer. */
export interface LayerWeights {
  attnNorm: Float32Array;
  attnQ: WeightMatrix;
  attnK: WeightMatrix;
  attnV: WeightMatrix;
  attnSubNorm: Float32Array;
  attnOutput: WeightMatrix;
  ffnNorm: Float32Array;
  ffnGate: WeightMatrix;
  ffnUp: WeightMatrix;
  ffnSubNorm: Float32Array;
  ffnDown: WeightMatrix;
  /** Output multipliers from `blk.N.<matmul>.scale` (1 when absent). */
  scales: Record<LayerMatmul, number>;
}

/** Every weight of a model, in memory, as the forward pass reads them. */
export interface BitnetWeights {
  config: ModelConfig;
  tensors: ModelTensors;
  tokenEmbedding: WeightMatrix;
  outputNorm: Float32Array;
  /** The output projection (the embedding itself when tied, also when re-encoded to Q8_0). */
  output: FloatMatrix;
  /**
   * How the output matrix is held: as in the file ('exact'), re-encoded to Q8_0 at load ('q8_0'), or
   * as in the file plus an int8 screen ('screened', see outputScreen).
   */
  outputType: OutputType;
  /** With outputType 'screened': the int8 copy of `output` and its per-row error bounds. */
  outputScreen?: OutputScreen;
  /** The output matrix's type in the file (before any re-encoding). */
  outputFileType: GgmlType;
  layers: LayerWeights[];
  /** Bytes of tensor data held (mapped or private). */
  bytes: number;
  /**
   * Of `bytes`, those that are views into the file's image (GgufFile.useImage: a read-only mapping,
   * file-backed pages shared with the page cache) rather than private copies; 0 when the file was read.
   */
  mappedBytes: number;
  /**
   * Bytes of weights one decode step reads, as held: every matrix and vector of the layers (a
   * repacked TQ1_0 matrix at its TQ2_0 size), the output norm and the output matrix (F16 exact or
   * its Q8_0 re-encode), plus one row of the token-embedding table, or nothing more for the table
   * when it is the output matrix itself (tied, one copy). A bandwidth roofline divides the memory
   * read bandwidth by this (plus the KV cache the step reads).
   */
  decodeBytesPerToken: number;
}

/** The values of OutputType, in the order error messages list them. */
export const OUTPUT_TYPES = ['exact', 'q8_0', 'screened'] as const;
/**
 * How the output (logits) matrix is held. 'exact': as in the file (the default). 'q8_0': an F32, F16 or
 * BF16 output matrix is re-encoded to Q8_0 at load (34 bytes per 32 values instead of 64 for F16) and
 * applied with Q8_0 activations (matmulQ8_0Q8_0, llama.cpp's Q8_0 arithmetic): about half the bytes
 * read per token, at a small cost in exactness. Other types (Q8_0 already, k-quants) stay as they are.
 * 'screened': the file's matrix, plus an int8 copy that screens it for greedy rows (OutputScreen).
 */
export type OutputType = (typeof OUTPUT_TYPES)[number];
/** The accepted outputType values, as error messages name them: 'exact', 'q8_0' or 'screened'. */
export const OUTPUT_TYPE_NAMES = `${OUTPUT_TYPES.slice(0, -1).map((t) => `'${t}'`).join(', ')} or '${OUTPUT_TYPES[OUTPUT_TYPES.length - 1]}'`;

/**
 * What outputType 'screened' holds besides the exact output matrix: an int8 copy with one scale per row
 * (the kernels' encodeI8rRows) and, per row, L2 bounds of how far the copy's row is from the exact one
 * and of its size (screenBoundsI8r). A row whose token can only be the greedy choice takes its
 * approximate logits from `copy`, bounds them, and computes exact logits only for the tokens the bounds
 * cannot rule out (forward/LogitScreen.ts): the same choice as the exact matrix, from half the bytes of
 * an F16 matrix, in an integer matmul whose cost per extra row is small.
 */
export interface OutputScreen {
  copy: I8rMatrix;
  /** 2 per row n: [2n] ≥ ‖w_n − ŵ_n‖₂, [2n+1] ≥ ‖ŵ_n‖₂ (ŵ the copy's values). */
  bounds: Float32Array;
}

const TERNARY = new Set<number>([GgmlType.I2_S, GgmlType.TQ1_0, GgmlType.TQ2_0]);

/** How `loadBitnetWeights` holds the weights it reads. */
export interface LoadWeightsOptions {
  /**
   * Hold TQ1_0 matrices as TQ2_0 (the same trits and scales, 66 instead of 54 bytes per 256
   * values): the 2-bit layout decodes with a shift and a mask instead of a base-3 division, about
   * 2.5× faster per byte, and gives bit-identical results. Default true; false keeps the file's
   * compact layout (22% less memory for those matrices).
   */
  repackTq1_0?: boolean;
  /**
   * 'q8_0': hold an F32/F16/BF16 output matrix as Q8_0 (see OutputType). Default 'exact'. When the
   * output is tied to the token embedding, the input embeddings are then looked up in the same Q8_0
   * copy (one copy in memory, about half of the F16 matrix); `exactTiedEmbeddings` keeps the file's
   * matrix for the lookup as well, at the cost of holding both. 'screened': keep the exact matrix and
   * add an int8 copy with per-row error bounds (OutputScreen; needs `kernels` with encodeI8rRows and
   * screenBoundsI8r), which a forward pass uses for rows that only need the largest logit.
   */
  outputType?: OutputType;
  /** With outputType 'q8_0' and a tied output: also keep the exact embedding matrix (default false). */
  exactTiedEmbeddings?: boolean;
  /**
   * Kernels that do the load-time conversions (the TQ1_0 repack, the Q8_0 re-encode of the output):
   * the native ones convert a 2B model in a fraction of a second where the @bitnet/models references
   * take many seconds. They write the same bytes. Default: the references.
   */
  kernels?: Pick<Kernels, 'repackTq1_0AsTq2_0' | 'encodeQ8_0Rows'> & Partial<Pick<Kernels, 'encodeI8rRows' | 'screenBoundsI8r'>>;
  /**
   * Where the converted matrices (the TQ1_0 repacks, a Q8_0 output) live: one buffer for all of them,
   * allocated with `hugePages` (@bitnet/kernels' pageMemory: 2 MB pages where Linux grants them, which
   * every decode step streams faster than 4 KB ones). Default: a plain ArrayBuffer per matrix.
   */
  memory?: Pick<PageMemory, 'allocate'>;
  /**
   * Called as the load goes: after the embedding and output matrices and after each layer, with the
   * bytes of tensor data read so far and the total bytes of tensor data in the file (the last call
   * reports done = total).
   */
  onProgress?: (done: number, total: number) => void;
}

/** Alignment of each converted matrix in the shared buffer (a cache line). */
const CONVERTED_ALIGN = 64;

/**
 * Memory for the converted matrices: views carved one after another from one buffer of `total` bytes
 * (the sum the caller computed, each rounded up to CONVERTED_ALIGN), or a fresh array each without
 * `memory`. Carving past `total` is a bug in that sum, not a case to handle.
 */
const alignedBytes = (bytes: number) => Math.ceil(bytes / CONVERTED_ALIGN) * CONVERTED_ALIGN;

function convertedMemory(total: number, memory: LoadWeightsOptions['memory']): (bytes: number) => Uint8Array {
  if (!memory || total === 0) return (bytes) => new Uint8Array(bytes);
  const arena = new Uint8Array(memory.allocate(total, { hugePages: true }));
  let used = 0;
  return (bytes) => {
    const view = arena.subarray(used, used + bytes);
    if (view.length !== bytes) throw new Error(`converted matrices need more than the ${total} bytes reserved for them`);
    used += alignedBytes(bytes);
    return view;
  };
}

/** Output matrix types outputType 'q8_0' re-encodes to Q8_0 and 'screened' copies to int8. */
const REENCODABLE_OUTPUT = new Set<number>([GgmlType.F32, GgmlType.F16, GgmlType.BF16]);
/** The widest output matrix outputType 'screened' takes (matmulI8rI8's integer sums fit an int32). */
const MAX_SCREENED_COLS = 32768;

/** Bytes of source data converted per piece when re-encoding a matrix (bounds the transient memory). */
const REENCODE_CHUNK_BYTES = 8 << 20;

/**
 * Re-encodes a float matrix of the file to Q8_0 (ggml's quantize_row_q8_0_ref: the kernels'
 * encodeQ8_0Rows, else the @bitnet/models encoder), reading it a few MB at a time so that the
 * full-precision matrix is never held whole.
 */
function reencodeQ8_0(file: GgufFile, t: GgufTensorInfo, out: Uint8Array, kernels?: LoadWeightsOptions['kernels']): Uint8Array {
  const K = t.dims[0];
  const N = t.dims[1];
  const srcRowBytes = t.byteSize / N;
  const dstRowBytes = (K / 32) * 34;
  const rowsPerChunk = Math.max(1, Math.floor(REENCODE_CHUNK_BYTES / srcRowBytes));
  const scratch = new Uint8Array(Math.min(rowsPerChunk, N) * srcRowBytes);
  for (let r0 = 0; r0 < N; r0 += rowsPerChunk) {
    const count = Math.min(rowsPerChunk, N - r0);
    const src = file.tensorDataForConversion(t, r0 * srcRowBytes, count * srcRowBytes, scratch);
    const dst = out.subarray(r0 * dstRowBytes, (r0 + count) * dstRowBytes);
    if (kernels) kernels.encodeQ8_0Rows({ type: t.type as FloatMatrix['type'], data: src, rows: count, cols: K }, dst);
    else dst.set(encodeQ8_0Blocks(dequantizeRows(t.type, src, K, 0, count)));
  }
  return out;
}

/**
 * Reads every tensor the graph needs from an open GGUF into memory (one buffer per tensor, read
 * once), after checking the config and every tensor's presence, type and shape. When the file reads
 * from an image (GgufFile.useImage, e.g. a mapping of the file), matrices used in their file layout
 * are views into it (no copy; kernels only read weights); repacked (TQ1_0 → TQ2_0) and re-encoded
 * (Q8_0 output) matrices and the f32 vectors (norms, scales: small, and copied to be 4-byte aligned)
 * are private.
 */
export function loadBitnetWeights(file: GgufFile, options: LoadWeightsOptions = {}): BitnetWeights {
  const repack = options.repackTq1_0 ?? true;
  const outputType = options.outputType ?? 'exact';
  if (!OUTPUT_TYPES.includes(outputType)) throw new Error(`outputType must be ${OUTPUT_TYPE_NAMES}, got ${describeValue(outputType)}`);
  const config = readModelConfig(file.metadata);
  const tensors = resolveModelTensors(config, file.tensors);
  let bytes = 0;
  let mappedBytes = 0;
  const image = file.image?.buffer;
  const totalFileBytes = file.tensors.reduce((n, t) => n + t.byteSize, 0);
  let read = 0;
  const report = () => options.onProgress?.(Math.min(read, totalFileBytes), totalFileBytes);
  const data = (t: GgufTensorInfo): Uint8Array => {
    read += t.byteSize;
    const d = file.tensorData(t);
    bytes += d.length;
    if (image !== undefined && d.buffer === image) mappedBytes += d.length;
    return d;
  };
  const outInfo = tensors.tiedOutput ? tensors.tokenEmbedding : tensors.output;
  if (TERNARY.has(outInfo.type)) throw new Error(`the output matrix '${outInfo.name}' must be a float or k-quant type`);
  // Both re-encodings (the Q8_0 matrix, the screen's int8 copy) take a float matrix with whole 32-blocks
  // per row; any other type or shape keeps the exact matrix alone.
  const reencodable = REENCODABLE_OUTPUT.has(outInfo.type) && outInfo.dims[0] % 32 === 0;
  const toQ8 = outputType === 'q8_0' && reencodable;
  // the int8 copy's matmul sums stay within an int32 up to 32768 columns
  const screened = outputType === 'screened' && reencodable && outInfo.dims[0] <= MAX_SCREENED_COLS;
  const screenKernels = options.kernels;
  if (screened && !(screenKernels?.encodeI8rRows && screenKernels.screenBoundsI8r)) throw new Error("outputType 'screened' needs options.kernels with encodeI8rRows and screenBoundsI8r");
  // sizes of the converted forms (shapes already checked: whole blocks of both types)
  const q8Bytes = (t: GgufTensorInfo) => ggmlTensorByteSize(GgmlType.Q8_0, t.dims)!;
  const repackedBytes = (t: GgufTensorInfo) => ggmlTensorByteSize(GgmlType.TQ2_0, t.dims)!;
  const graphMatrices = [
    tensors.tokenEmbedding,
    ...(tensors.tiedOutput ? [] : [tensors.output]),
    ...tensors.layers.flatMap((l) => [l.attnQ, l.attnK, l.attnV, l.attnOutput, l.ffnGate, l.ffnUp, l.ffnDown]),
  ];
  const repacked = repack ? graphMatrices.filter((t) => t.type === GgmlType.TQ1_0) : [];
  const converted = convertedMemory(
    repacked.reduce((n, t) => n + alignedBytes(repackedBytes(t)), 0) + (toQ8 ? alignedBytes(q8Bytes(outInfo)) : 0) + (screened ? alignedBytes(outInfo.elementCount) : 0),
    options.memory,
  );
  // One buffer for every TQ1_0 matrix's bytes on their way to the repack (not one freed buffer each).
  let repackScratch: Uint8Array | undefined;
  const matrix = (t: GgufTensorInfo): WeightMatrix => {
    if (t.type === GgmlType.TQ1_0 && repack) {
      read += t.byteSize;
      repackScratch ??= new Uint8Array(Math.max(...repacked.map((u) => u.byteSize)));
      const packed = file.tensorDataForConversion(t, 0, t.byteSize, repackScratch);
      const d = converted(repackedBytes(t));
      if (options.kernels) options.kernels.repackTq1_0AsTq2_0(packed, d);
      else d.set(repackTq1_0AsTq2_0(packed, t.elementCount));
      bytes += d.length;
      return { kind: 'ternary', type: GgmlType.TQ2_0, data: d, rows: t.dims[1], cols: t.dims[0] };
    }
    const base = { data: data(t), rows: t.dims[1], cols: t.dims[0] };
    return TERNARY.has(t.type)
      ? { kind: 'ternary', type: t.type as TernaryMatrix['type'], ...base }
      : { kind: 'float', type: t.type as FloatMatrix['type'], ...base };
  };
  const f32 = (t: GgufTensorInfo): Float32Array => {
    read += t.byteSize;
    const d = file.tensorData(t);
    bytes += d.length;
    // copy into an aligned buffer (tensor data may sit at any byte offset of a pooled buffer)
    const out = new Float32Array(t.elementCount);
    new Uint8Array(out.buffer).set(d.subarray(0, out.byteLength));
    return out;
  };
  let tokenEmbedding: WeightMatrix;
  let output: WeightMatrix;
  if (toQ8) {
    const q8 = reencodeQ8_0(file, outInfo, converted(q8Bytes(outInfo)), options.kernels);
    read += outInfo.byteSize;
    bytes += q8.length;
    output = { kind: 'float', type: GgmlType.Q8_0, data: q8, rows: outInfo.dims[1], cols: outInfo.dims[0] };
    tokenEmbedding = tensors.tiedOutput && !options.exactTiedEmbeddings ? output : matrix(tensors.tokenEmbedding);
  } else {
    tokenEmbedding = matrix(tensors.tokenEmbedding);
    output = tensors.tiedOutput ? tokenEmbedding : matrix(tensors.output);
  }
  let outputScreen: OutputScreen | undefined;
  if (screened && output.kind === 'float') {
    const copy: I8rMatrix = { rows: output.rows, cols: output.cols, codes: converted(outInfo.elementCount), scales: new Float32Array(output.rows) };
    const { kind: _k, ...exact } = output;
    screenKernels!.encodeI8rRows!(exact, copy);
    const bounds = new Float32Array(2 * output.rows);
    screenKernels!.screenBoundsI8r!(exact, copy, bounds);
    bytes += copy.codes.length + copy.scales.byteLength + bounds.byteLength;
    outputScreen = { copy, bounds };
  }
  if (output.kind !== 'float') throw new Error(`the output matrix '${outInfo.name}' must be a float or k-quant type (it is ${ggmlTypeName(outInfo.type)})`);
  report();
  const bytesBeforeLayers = bytes;
  const layers = tensors.layers.map((l) => {
    const scales = {} as Record<LayerMatmul, number>;
    for (const m of LAYER_MATMULS) scales[m] = l.scales[m] ? f32(l.scales[m]!)[0] : 1;
    const layer = {
      attnNorm: f32(l.attnNorm),
      attnQ: matrix(l.attnQ),
      attnK: matrix(l.attnK),
      attnV: matrix(l.attnV),
      attnSubNorm: f32(l.attnSubNorm),
      attnOutput: matrix(l.attnOutput),
      ffnNorm: f32(l.ffnNorm),
      ffnGate: matrix(l.ffnGate),
      ffnUp: matrix(l.ffnUp),
      ffnSubNorm: f32(l.ffnSubNorm),
      ffnDown: matrix(l.ffnDown),
      scales,
    };
    report();
    return layer;
  });
  read = totalFileBytes;
  report();
  const layerBytes = bytes - bytesBeforeLayers;
  const outputNorm = f32(tensors.outputNorm);
  const { kind: _kind, ...outputMatrix } = output;
  // the lookup of one token reads one row of the table; a tied table is already counted as the output
  // (unless a screen stands in for the output matrix)
  const embeddingRow = tokenEmbedding.data === output.data && !outputScreen ? 0 : tokenEmbedding.data.length / tokenEmbedding.rows;
  return {
    config,
    tensors,
    tokenEmbedding,
    outputNorm,
    output: outputMatrix as FloatMatrix,
    outputType: toQ8 ? 'q8_0' : outputScreen ? 'screened' : 'exact',
    ...(outputScreen ? { outputScreen } : {}),
    outputFileType: outInfo.type,
    layers,
    bytes,
    mappedBytes,
    // screened: the int8 copy, its scales and bounds (the few exact rows a step computes are left out)
    decodeBytesPerToken: layerBytes + outputNorm.byteLength + (outputScreen ? outputScreen.copy.codes.length + outputScreen.copy.scales.byteLength + outputScreen.bounds.byteLength : output.data.length) + embeddingRow,
  };
}
