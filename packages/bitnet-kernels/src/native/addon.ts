/**
 * The shape of the native addon (build/Release/bitnet_kernels.node, built from ../../../../native by
 * cmake-js). Arguments are positional typed arrays and integers; the addon checks what C++ needs for
 * memory safety (types, integer ranges, block multiples, every array's length against the shapes)
 * and throws TypeError / RangeError otherwise. It does not validate the rest of the contract: wrap
 * NativeKernels in CheckedKernels for that.
 */

/** What cpuid and xgetbv report (x86; all false elsewhere). */
export interface CpuFeatures {
  vendor: string;
  /** Display family and model from cpuid (AMD Zen 3 and Zen 4: family 25; Zen 5: 26). */
  family: number;
  model: number;
  sse2: boolean;
  avx: boolean;
  avx2: boolean;
  fma: boolean;
  f16c: boolean;
  avx512f: boolean;
  avx512bw: boolean;
  avx512vl: boolean;
  avx512dq: boolean;
  /** AVX-VNNI: the VEX-encoded 256-bit vpdpbusd (Intel client cores since Alder Lake; Zen 5). */
  avxvnni: boolean;
  avx512vnni: boolean;
  avx512bf16: boolean;
  /** AVX512_VBMI (vpermb): Ice Lake and later Intel cores, Zen 4 and later; not Cooper Lake. */
  avx512vbmi: boolean;
  /** The OS enabled XSAVE (required to read XCR0). */
  osxsave: boolean;
  /** XCR0: the OS saves YMM state (AVX usable). */
  osYmm: boolean;
  /** XCR0: the OS saves ZMM and opmask state (AVX-512 usable). */
  osZmm: boolean;
}

/** The instruction sets the native addon has kernels for. */
export type NativeIsa = 'generic' | 'avx2' | 'avxvnni' | 'avx512' | 'avx512vbmi';

/** Counters of the native read-ahead plan (readAheadForTests). */
export interface ReadAheadStats {
  /** KB a worker reads ahead (BITNET_READ_AHEAD_KB at load, default 1024). */
  budgetKb: number;
  /** Matmul calls seen since the plan started over. */
  matmuls: number;
  /** attentionMany calls on the pool seen since the plan started over (their keys and values read ahead after the matmul before them). */
  attentions: number;
  /** Calls that knew which matrix followed them last time (and handed its rows to the workers). */
  predicted: number;
  /** Calls whose matrix was the one the call before them predicted. */
  hits: number;
  /** Ranges the workers have started reading ahead, since the addon loaded. */
  workerReadAheads: number;
  /** ... of which an attention's keys and values (read after the matmul before it), since the addon loaded. */
  workerAttentionReadAheads: number;
}

/** What NativeAddon.int8Peak measured. */
export interface Int8Peak {
  /** Multiply-adds per second, all pool threads together (the best pass). */
  multiplyAddsPerSecond: number;
  /** Multiply-adds of the last pass, all threads. */
  multiplyAdds: number;
  /** Sum of every accumulator lane of the last pass (2 per multiply-add when the loop ran as counted). */
  checksum: number;
}

export interface NativeAddon {
  // The integer matmuls' `scale`: an optional output scale (absent: 1), as the Kernels contract's.
  quantizeI8PerToken(x: Float32Array, rows: number, cols: number, qs: Int8Array, scales: Float32Array, sums: Int32Array): void;
  quantizeQ8K(x: Float32Array, rows: number, cols: number, qs: Int8Array, d: Float32Array, bsums: Int16Array): void;
  quantizeQ8_0(x: Float32Array, rows: number, cols: number, qs: Int8Array, d: Float32Array): void;
  matmulI2sI8(w: Uint8Array, n: number, k: number, qs: Int8Array, scales: Float32Array, sums: Int32Array, m: number, out: Float32Array, scale?: number): void;
  matmulTq2_0Q8K(w: Uint8Array, n: number, k: number, qs: Int8Array, d: Float32Array, m: number, out: Float32Array, scale?: number): void;
  matmulTq1_0Q8K(w: Uint8Array, n: number, k: number, qs: Int8Array, d: Float32Array, m: number, out: Float32Array, scale?: number): void;
  matmulQ8_0Q8_0(w: Uint8Array, n: number, k: number, qs: Int8Array, d: Float32Array, m: number, out: Float32Array, scale?: number): void;
  /** type: I2_S / TQ2_0 / TQ1_0's ggml id; actScale: a.scales (I2_S) or a.d; actSums: a.sums (I2_S; ignored for TQ); scales: one per matrix. */
  matmulTernaryMany(
    type: number,
    ws: Uint8Array[],
    rows: Int32Array,
    k: number,
    qs: Int8Array,
    actScale: Float32Array,
    actSums: Int32Array,
    m: number,
    outs: Float32Array[],
    scales: Float32Array,
  ): void;
  matmulFloat(type: number, w: Uint8Array, n: number, k: number, x: Float32Array, m: number, out: Float32Array): void;
  /** out[j] = matmulFloat's element (xRow[j], wRow[j]); every index is checked to be in range. */
  matmulFloatPicked(type: number, w: Uint8Array, n: number, k: number, x: Float32Array, m: number, wRow: Int32Array, xRow: Int32Array, out: Float32Array): void;
  getRows(type: number, w: Uint8Array, n: number, k: number, ids: Int32Array, out: Float32Array): void;
  rmsNorm(x: Float32Array, rows: number, cols: number, weight: Float32Array, eps: number, out: Float32Array): void;
  ropeNeox(x: Float32Array, tokens: number, heads: number, headDim: number, ropeDim: number, positions: Int32Array, freqBase: number): void;
  softmax(x: Float32Array, rows: number, cols: number): void;
  /** attention's arguments per call, all calls in one pass over the pool. */
  attentionMany(calls: unknown[][]): void;
  attention(
    q: Float32Array,
    kCache: Uint16Array,
    vCache: Uint16Array,
    tokens: number,
    heads: number,
    kvHeads: number,
    headDim: number,
    startPos: number,
    capacity: number,
    scale: number,
    out: Float32Array,
    independentRows: boolean,
    /** Paged layout (KvShape.blocks): null or absent for the contiguous one. */
    blocks?: Int32Array | null,
    blockTokens?: number,
  ): void;
  storeKv(
    k: Float32Array,
    v: Float32Array,
    kCache: Uint16Array,
    vCache: Uint16Array,
    tokens: number,
    kvHeads: number,
    headDim: number,
    startPos: number,
    capacity: number,
    blocks?: Int32Array | null,
    blockTokens?: number,
  ): void;
  reluSqrMul(gate: Float32Array, up: Float32Array, out: Float32Array): void;
  siluMul(gate: Float32Array, up: Float32Array, out: Float32Array): void;
  add(a: Float32Array, b: Float32Array, out: Float32Array): void;
  scale(x: Float32Array, s: number, out: Float32Array): void;
  toF16(x: Float32Array, out: Uint16Array): void;
  repackTq1_0AsTq2_0(src: Uint8Array, dst: Uint8Array): void;
  encodeQ8_0(x: Float32Array, out: Uint8Array): void;
  encodeQ8_0Rows(type: number, w: Uint8Array, n: number, k: number, out: Uint8Array): void;
  /** I8r codes (n × k) and row scales times int8 activations (m rows); k % 32 == 0, k ≤ 32768. */
  matmulI8rI8(codes: Uint8Array, scales: Float32Array, n: number, k: number, qs: Int8Array, aScales: Float32Array, sums: Int32Array, m: number, out: Float32Array): void;
  /** type: F32, F16 or BF16 (w's); codes: n × k; scales: n. */
  encodeI8rRows(type: number, w: Uint8Array, n: number, k: number, codes: Uint8Array, scales: Float32Array): void;
  /** type: F32, F16 or BF16 (w's); codes, scales: its I8r copy; out: 2 floats per row. */
  screenBoundsI8r(type: number, w: Uint8Array, n: number, k: number, codes: Uint8Array, scales: Float32Array, out: Float32Array): void;
  /** bounds: 2 × a.length; returns the count written to ids, −1 or −2. */
  screenCandidates(a: Float32Array, bounds: Float32Array, c0: number, c1: number, ids: Int32Array): number;
  weighLogits(logits: Float32Array, max: number, temperature: number, bandScale: number, weights: Float64Array, ids: Int32Array, bandWeight: Float64Array, start: Int32Array): number;
  argmax(x: Float32Array): number;
  sumExp(x: Float32Array, max: number): number;
  /** The whole file mapped read-only (PROT_READ, MAP_PRIVATE); unmapped when the ArrayBuffer is collected. */
  mapFile(path: string): ArrayBuffer;
  /**
   * Zero-filled anonymous pages (mmap), committed when first written; unmapped by releasePages or the
   * finalizer. `hugePages`: 2 MB-aligned and advised MADV_HUGEPAGE (a hint the OS may refuse).
   */
  allocatePages(bytes: number, hugePages?: boolean): ArrayBuffer;
  /** Unmaps a buffer of allocatePages now and detaches it (its views become empty); false for any other buffer or a second call. */
  releasePages(buffer: ArrayBuffer): boolean;

  cpuFeatures(): CpuFeatures;
  /** The instruction set whose kernels run (chosen once at load; BITNET_ISA overrides). */
  selectedIsa(): NativeIsa;
  /**
   * Where decode matmuls prefetch the weight rows they stream: 'nta' (prefetchnta, 8 KB ahead) or 'l2'
   * (prefetcht1, 32 KB ahead). Chosen once at load by the CPU (l2 on AMD family 25); BITNET_PREFETCH overrides.
   */
  streamPrefetch(): 'nta' | 'l2';
  /** Instruction sets this CPU and OS can run, best last. */
  availableIsas(): NativeIsa[];
  /** Instruction sets compiled into the addon. */
  compiledIsas(): NativeIsa[];
  /** Threads of the native pool (the calling thread included). */
  threads(): number;
  /** Gives the process-wide pool n threads (1..256, the caller included); returns the previous size. */
  setThreads(n: number): number;
  /** Test hook: switches the kernels of the whole process; returns the previous ISA. */
  setIsaForTests(isa: string): NativeIsa;
  /**
   * Test hook: the read-ahead plan's counters (the pool's workers prefetch the next matmul's first
   * weight rows between kernel calls; see native/src/threads/read_ahead.h). With `kb`, first sets the
   * bytes a worker reads ahead (0 turns it off) and starts the plan over.
   */
  readAheadForTests(kb?: number): ReadAheadStats;
  /**
   * GB/s of streaming reads by every pool thread (best of `passes`): of a fresh `bytes` buffer, or of the
   * first `bytes` of `file` when given (mapped for the call only; pages already in the page cache are read
   * where they are, nothing is allocated or freed).
   */
  readBandwidth(bytes: number, passes: number, file?: string): number;
  /**
   * The int8 multiply-add ceiling of the selected ISA on every pool thread at once: `rounds` (1 .. 2^26)
   * rounds of its widest u8 × s8 dot instruction (AVX2: the vpmaddubsw + vpmaddwd + vpaddd mix its int8
   * kernels use; generic: a plain C++ dot) in independent chains, best of `passes`. `checksum` is the
   * sum of every accumulator lane of the last pass: 2 × multiplyAdds when the loop ran as counted.
   */
  int8Peak(rounds: number, passes: number): Int8Peak;
  /** True only for the test-only build whose AVX-512 intrinsics are emulated (SIMDe). */
  avx512Emulated: boolean;
}
