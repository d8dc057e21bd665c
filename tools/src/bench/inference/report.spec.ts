import { TARGETS, chatTable, check, compare, engineLabel, llamaCounterpart, longContextTable, ratio, renderMarkdown, resultsTable, roofline, targetsTable } from './report';
import type { ReportInput } from './report';
import { BOS_ID, ChildResult, promptIds, singleStreamRates } from './workload';

const GB = 1e9;
/** Made-up memory peaks: 1.5 GB resident, 1.2 GB of it the mapped file. */
const memory = (privateGB: number) => ({ peakRssBytes: 1.5 * GB, fileBackedAtPeakBytes: 1.2 * GB, peakPrivateBytes: privateGB * GB, samples: 40 });
/**
 * Made-up decode bytes: with the 256-token prompt and 64 new tokens the timed steps attend to 288
 * positions on average, so a step reads 0.9712 GB of weights + 288 × 100 kB of KV = 1 GB; at the
 * 20 GB/s below the roofline is 20 tok/s.
 */
const DECODE_BYTES = { weightBytesPerToken: 0.9712 * GB, kvBytesPerPosition: 100_000 };
const BANDWIDTH = 20;

function longContext(privateGB: number): ChildResult['longContext'] {
  return { contextTokens: 4096, promptTokens: 4032, newTokens: 64, ttftMs: 80_640, prefillTokS: 50, decodeTokS: 12.5, memory: memory(privateGB) };
}

function result(engine: 'ours' | 'ours-q8' | 'ours-screened' | 'llama', type: 'i2_s' | 'tq2_0' | 'tq1_0', speed: number, extra: Partial<ChildResult> = {}): ChildResult {
  const streams = [4, 8].map((n) => ({
    streams: n,
    promptTokensEach: 32,
    newTokensEach: 64,
    totalNewTokens: 64 * n,
    wallMs: 1000,
    aggregateTokS: speed * n,
    meanDecodeBatch: n,
    maxDecodeBatch: n,
    eventLoop: { maxMs: 12, p99Ms: 10.5, meanMs: 10.1 },
  }));
  return {
    engine,
    type,
    loadMs: 400,
    warmupMs: 300,
    prefill: { promptTokens: 256, ttftMs: 256_000 / (speed * 3), tokS: speed * 3 },
    decode: { tokens: 63, ms: 63_000 / speed, tokS: speed },
    streams,
    memory: memory(0.3),
    decodeBytes: DECODE_BYTES,
    loadAverage: [0.5, 1.25],
    majorFaults: 3,
    contention: { othersPct: 0.4, stealPct: 12.25 },
    backend: 'test',
    notes: [],
    ...extra,
  };
}

function constrained(decodeTokS: number, pct: number): ChildResult['constrained'] {
  return { tokens: 64, reason: 'max_tokens', decodeTokS, unconstrainedTokS: (decodeTokS * 100) / pct, maskMsPerToken: 1.25, pctOfUnconstrained: pct, firstUseMs: 900 };
}

describe('targets and ratios', () => {
  it('ratio is ours/llama and NaN when a side is missing or zero', () => {
    expect(ratio(30, 20)).toBe(1.5);
    expect(ratio(30, undefined)).toBeNaN();
    expect(ratio(30, 0)).toBeNaN();
    expect(ratio(NaN, 2)).toBeNaN();
  });

  it('ratio targets are minimums, bounds are maximums, unknown values are neither', () => {
    expect(check(TARGETS.decode, 1.4).met).toBe(true);
    expect(check(TARGETS.decode, 1.39).met).toBe(false);
    expect(check(TARGETS.load, 0.5).met).toBe(true);
    expect(check(TARGETS.load, 0.51).met).toBe(false);
    expect(check(TARGETS.privatePeak, NaN).met).toBeUndefined();
    expect(check(TARGETS.roofline, 90).met).toBe(true);
    expect(check(TARGETS.roofline, 89.9).met).toBe(false);
    expect(check(TARGETS.eventLoop, 10.5).met).toBe(false);
  });

  it('holds the issue\'s bounds: prefill ≥ 3×, 8 streams ≥ 5×, load ≤ 0.5 s, event loop ≤ 10 ms, roofline ≥ 90 %, private ≤ 0.4 GB; peak RSS is no target', () => {
    const v = (k: string) => TARGETS[k].value;
    expect([v('prefill'), v('agg8'), v('decode'), v('agg4'), v('load'), v('eventLoop'), v('roofline'), v('privatePeak')]).toEqual([3, 5, 1.4, 2.5, 0.5, 10, 90, 0.4]);
    expect(Object.keys(TARGETS)).not.toContain('rss');
  });

  it('roofline: bandwidth / (weights + KV at the mean decode position), decode as a share of it', () => {
    const at = (speed: number) => roofline(result('ours', 'i2_s', speed), BANDWIDTH);
    expect(at(18).bytesPerToken).toBeCloseTo(1 * GB, -3);
    expect(at(18).tokS).toBeCloseTo(20, 9);
    expect(at(18).pct).toBeCloseTo(90, 9);
    expect(roofline(result('ours', 'i2_s', 18), undefined).pct).toBeNaN();
    // the bandwidth probed around the result's own decode wins over the run's figure (twice: half the share)
    expect(roofline(result('ours', 'i2_s', 18, { decodeBandwidthGBs: 2 * BANDWIDTH }), BANDWIDTH).pct).toBeCloseTo(45, 9);
    expect(roofline(result('ours', 'i2_s', 18, { decodeBytes: undefined }), BANDWIDTH).tokS).toBeNaN();
    const byKey = (r: ChildResult[]) => Object.fromEntries(compare(r, BANDWIDTH)[0].checks.map((k) => [k.target.key, k]));
    expect(byKey([result('ours', 'i2_s', 18)]).roofline).toMatchObject({ met: true });
    expect(byKey([result('ours', 'i2_s', 17.9)]).roofline.met).toBe(false);
    expect(byKey([result('ours', 'i2_s', 17.9), result('llama', 'tq2_0', 10)]).roofline.llama).toBeCloseTo(50, 9);
    // the Q8_0-output engine shows its share for reference only; the screened one (the exact tokens) is held to it
    expect(byKey([result('ours-q8', 'i2_s', 10)]).roofline).toMatchObject({ met: undefined, informational: true });
    expect(byKey([result('ours-screened', 'i2_s', 18)]).roofline).toMatchObject({ met: true });
    expect(byKey([result('ours-screened', 'i2_s', 17.9)]).roofline.met).toBe(false);
    expect(engineLabel('ours-screened')).toBe('bitnet-ts (screened output)');
  });

  it('private memory: the long-context peak of the exact I2_S engine against 0.4 GB; other engines for reference; unknown without the run', () => {
    const privateCheck = (r: ChildResult) => compare([r], BANDWIDTH)[0].checks.find((k) => k.target.key === 'privatePeak')!;
    expect(privateCheck(result('ours', 'i2_s', 10, { longContext: longContext(0.35) }))).toMatchObject({ value: 0.35, met: true });
    expect(privateCheck(result('ours', 'i2_s', 10, { longContext: longContext(0.45) }))).toMatchObject({ value: 0.45, met: false });
    expect(privateCheck(result('ours', 'i2_s', 10)).met).toBeUndefined();
    expect(privateCheck(result('ours', 'tq1_0', 10, { longContext: longContext(1.5) }))).toMatchObject({ met: undefined, informational: true });
    expect(privateCheck(result('ours-q8', 'i2_s', 10, { longContext: longContext(0.3) })).informational).toBe(true);
  });

  it('compares our I2_S with llama.cpp TQ2_0 and each TQ file with its own', () => {
    expect(llamaCounterpart('i2_s')).toBe('tq2_0');
    expect(llamaCounterpart('tq1_0')).toBe('tq1_0');
    const results = [result('ours', 'i2_s', 21), result('ours', 'tq1_0', 10, { loadMs: 4000 }), result('llama', 'tq2_0', 10), result('llama', 'tq1_0', 10)];
    const [i2s, tq1] = compare(results);
    expect(i2s.llama).toBe('tq2_0');
    const byKey = (c: typeof i2s) => Object.fromEntries(c.checks.map((k) => [k.target.key, k]));
    expect(byKey(i2s).decode.value).toBeCloseTo(2.1);
    expect(byKey(i2s).decode.met).toBe(true);
    expect(byKey(i2s).agg8.value).toBeCloseTo(2.1);
    expect(byKey(i2s).agg8.met).toBe(false);
    expect(byKey(tq1).decode.met).toBe(false);
    expect(byKey(tq1).load).toMatchObject({ value: 4, met: false });
    expect(byKey(tq1).eventLoop).toMatchObject({ value: 12, met: false });
  });

  it('constrained decode: at least 80 % of the same run\'s unconstrained decode; unknown when not measured', () => {
    const c = (r: ChildResult) => compare([r])[0].checks.find((k) => k.target.key === 'constrained')!;
    expect(c(result('ours', 'i2_s', 20, { constrained: constrained(16, 80) }))).toMatchObject({ value: 80, met: true });
    expect(c(result('ours', 'i2_s', 20, { constrained: constrained(15.9, 79.5) }))).toMatchObject({ value: 79.5, met: false });
    expect(c(result('ours', 'i2_s', 20)).met).toBeUndefined();
    expect(c(result('ours-q8', 'i2_s', 20, { constrained: constrained(14, 70) }))).toMatchObject({ met: undefined, informational: true });
    expect(c(result('ours-screened', 'i2_s', 20, { constrained: constrained(14, 70) }))).toMatchObject({ met: undefined, informational: true });
  });

  it('leaves ratios unknown when llama.cpp did not run', () => {
    const [c] = compare([result('ours', 'tq2_0', 10)]);
    expect(c.llama).toBeUndefined();
    expect(c.checks.find((k) => k.target.key === 'decode')?.met).toBeUndefined();
    expect(c.checks.find((k) => k.target.key === 'load')?.met).toBe(true);
  });
});

describe('multi-turn chat table', () => {
  it('one row per turn with its TTFT and its ratio to turn 1; nothing without a chat run', () => {
    const chat = [
      { turn: 1, promptTokens: 172, ttftMs: 2000, cachedTtftMs: 1000, cachedTokens: 0 },
      { turn: 2, promptTokens: 306, ttftMs: 3000, cachedTtftMs: 1200, cachedTokens: 192 },
    ];
    const t = chatTable([result('ours', 'i2_s', 20, { chat }), result('llama', 'tq2_0', 10)]).split('\n');
    expect(t).toHaveLength(4);
    expect(t[0]).toBe('| engine | file | turn | prompt tokens | TTFT s, no cache | of turn 1 | TTFT s, prompt cache | of turn 1 (target ≤ 1.3×) | cached tokens |');
    expect(t[3]).toBe('| bitnet-ts | I2_S | 2 | 306 | 3.00 | 1.50× | 1.20 | 1.20× | 192 |');
    expect(chatTable([result('ours', 'i2_s', 20)])).toBe('');
    // the target reads the worst cached turn against turn 1
    const k = compare([result('ours', 'i2_s', 20, { chat })])[0].checks.find((c) => c.target.key === 'chat')!;
    expect(k).toMatchObject({ value: 1.2, met: true });
    const slow = [...chat, { turn: 3, promptTokens: 440, ttftMs: 4000, cachedTtftMs: 1400, cachedTokens: 320 }];
    expect(compare([result('ours', 'i2_s', 20, { chat: slow })])[0].checks.find((c) => c.target.key === 'chat')).toMatchObject({ met: false });
    expect(compare([result('ours', 'tq2_0', 20)])[0].checks.find((c) => c.target.key === 'chat')!.met).toBeUndefined();
  });
});

describe('Markdown', () => {
  const results = [result('ours', 'i2_s', 20, { longContext: longContext(0.38), constrained: constrained(17, 85) }), result('llama', 'tq2_0', 10)];

  it('renders one row per measurement, with the roofline and memory columns', () => {
    const t = resultsTable(results, BANDWIDTH).split('\n');
    expect(t).toHaveLength(4);
    expect(t[0]).toBe(
      '| engine | file | load s | TTFT ms | prefill tok/s | decode tok/s | roofline tok/s | % of roofline | aggregate ×4 tok/s | aggregate ×8 tok/s | decode batch ×4/×8 mean (max) | JSON-schema decode tok/s (% of unconstrained) | mask ms/token | peak RSS GB | of it file-backed GB | peak private GB | event loop max / p99 ms (×8; longest main-thread GC burst) | CPU taken by others / steal % | major faults |',
    );
    expect(t[2]).toBe('| bitnet-ts | I2_S | 0.40 | 4267 | 60.0 | 20.0 | 20.0 | 100.0 | 80.0 | 160.0 | 4.0 (4) / 8.0 (8) | 17.0 (85 %) | 1.25 | 1.50 | 1.20 | 0.30 | 12.0 / 10.5 | 0.4 / 12.3 | 3 |');
    expect(t[3]).toContain('| llama.cpp | TQ2_0 |');
    // without a bandwidth the roofline is unknown
    expect(resultsTable(results).split('\n')[2]).toContain('| 20.0 | — | — | 80.0 |');
    // the main thread's longest GC burst in the 8-stream row, when recorded
    const withGc = result('ours', 'i2_s', 20);
    withGc.streams[1].mainGc = { count: 3, majorCount: 1, maxMs: 5, longestBurstMs: 9.4, totalMs: 10 };
    expect(resultsTable([withGc], BANDWIDTH).split('\n')[2]).toContain('| 12.0 / 10.5 (9.4) |');
  });

  it('renders the long-context run of the results that have one', () => {
    const t = longContextTable(results).split('\n');
    expect(t).toHaveLength(3);
    expect(t[2]).toBe('| bitnet-ts | I2_S | 4032 + 64 | 80.6 | 50.0 | 12.5 | 1.50 | 1.20 | 0.38 |');
    expect(longContextTable([result('llama', 'tq2_0', 10)])).toBe('');
  });

  it('marks each target met or missed and names the stand-in for I2_S', () => {
    const t = targetsTable(compare(results, BANDWIDTH));
    expect(t).toContain('| bitnet-ts I2_S vs llama.cpp TQ2_0 (llama.cpp cannot load I2_S) | decode tok/s | 20.0 | 10.0 | 2.00× | ≥ 1.4× | met |');
    expect(t).toContain('| aggregate, 8 streams | 160.0 | 80.0 | 2.00× | ≥ 5× | **missed** |');
    expect(t).toContain('| load time | 0.40 s | 0.40 s |  | ≤ 0.5 s | met |');
    expect(t).toContain('| decode, % of bandwidth roofline | 100.0 % | 50.0 % |  | ≥ 90 % | met |');
    expect(t).toContain('| peak private memory (long context) | 0.38 GB | — |  | ≤ 0.4 GB | met |');
    expect(t).toContain('| event-loop delay max (8 streams) | 12.0 ms | — |  | ≤ 10 ms | **missed** |');
    expect(targetsTable(compare([result('ours-q8', 'i2_s', 10)], BANDWIDTH))).toContain('| decode, % of bandwidth roofline | 50.0 % | — |  | ≥ 90 % | for reference |');
  });

  it('the report names the machine, the models and any failure', () => {
    const input: ReportInput = {
      machine: { cpuModel: 'Test CPU', cores: 2, isaFlags: { avx2: true, avx512f: false, avx512vnni: false }, kernelIsa: 'native avx2', memoryGB: 16, bandwidthGBs: 20, node: 'v20.0.0', os: 'Linux', date: '2025-01-01T00:00:00.000Z', loadAverage: [0.5, 0.4, 0.3] },
      threads: 2,
      quick: true,
      workload: { promptTokens: 32, newTokens: 8, streamPromptTokens: 8, streamNewTokens: 8, longContextTokens: 512, longNewTokens: 16, chat: { turns: 3, firstPromptTokens: 24, userTokens: 12, replyTokens: 4 } },
      models: [{ type: 'i2_s', arch: 'bitnet-b1.58', file: '/m/i2s.gguf', bytes: 1.19e9, source: 'cache', madeSeconds: 0 }],
      results,
      failures: [{ engine: 'llama', type: 'tq1_0', error: 'boom' }],
      totalSeconds: 61,
    };
    const md = renderMarkdown(input);
    expect(md).toContain('Test CPU (2 CPUs; avx2 yes, avx512f no, avx512vnni no) · our kernels: native avx2');
    expect(md).toContain('**Quick run**');
    expect(md).toContain('- I2_S: `/m/i2s.gguf` (arch `bitnet-b1.58`, 1.19 GB, reused (cache))');
    expect(md).toContain('- llama tq1_0: boom');
    expect(md).toContain('ours = InferenceEngine.load (the GGUF is mapped read-only');
    expect(md).not.toContain('weights read into memory');
    expect(md).toContain('## Long context');
    expect(md).toContain('a 496-token prompt, then 16 new tokens');
    expect(md).toContain('| bitnet-ts | I2_S | 0.40 | 4267 | 60.0 | 20.0 | 20.0 | 100.0 |');
  });
});

describe('workload helpers', () => {
  it('prompt ids are deterministic ordinary vocabulary ids after BOS', () => {
    const a = promptIds(256, 1);
    expect(a).toHaveLength(256);
    expect(a[0]).toBe(BOS_ID);
    expect(a.slice(1).every((id) => Number.isInteger(id) && id >= 256 && id < 128000)).toBe(true);
    expect(promptIds(256, 1)).toEqual(a);
    expect(promptIds(32, 2)).not.toEqual(a.slice(0, 32));
    expect(new Set(a).size).toBeGreaterThan(250);
  });

  it('single-stream rates leave the first token out of decode', () => {
    const r = singleStreamRates(1000, [1500, 1600, 1700, 1800], 256);
    expect(r.prefill).toEqual({ promptTokens: 256, ttftMs: 500, tokS: 512 });
    expect(r.decode.tokens).toBe(3);
    expect(r.decode.tokS).toBeCloseTo(10);
  });
});
