import { TARGETS, check, compare, llamaCounterpart, ratio, renderMarkdown, resultsTable, targetsTable } from './report';
import type { ReportInput } from './report';
import { BOS_ID, ChildResult, promptIds, singleStreamRates } from './workload';

function result(engine: 'ours' | 'llama', type: 'i2_s' | 'tq2_0' | 'tq1_0', speed: number, extra: Partial<ChildResult> = {}): ChildResult {
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
    loadMs: 2000,
    warmupMs: 300,
    prefill: { promptTokens: 256, ttftMs: 256_000 / (speed * 3), tokS: speed * 3 },
    decode: { tokens: 63, ms: 63_000 / speed, tokS: speed },
    streams,
    peakRssBytes: 1.2e9,
    loadAverage: [0.5, 1.25],
    majorFaults: 3,
    contention: { othersPct: 0.4, stealPct: 12.25 },
    backend: 'test',
    notes: [],
    ...extra,
  };
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
    expect(check(TARGETS.load, 3).met).toBe(true);
    expect(check(TARGETS.load, 3.01).met).toBe(false);
    expect(check(TARGETS.rss, NaN).met).toBeUndefined();
  });

  it('compares our I2_S with llama.cpp TQ2_0 and each TQ file with its own', () => {
    expect(llamaCounterpart('i2_s')).toBe('tq2_0');
    expect(llamaCounterpart('tq1_0')).toBe('tq1_0');
    const results = [result('ours', 'i2_s', 21), result('ours', 'tq1_0', 10, { loadMs: 4000, peakRssBytes: 1.6e9 }), result('llama', 'tq2_0', 10), result('llama', 'tq1_0', 10)];
    const [i2s, tq1] = compare(results);
    expect(i2s.llama).toBe('tq2_0');
    const byKey = (c: typeof i2s) => Object.fromEntries(c.checks.map((k) => [k.target.key, k]));
    expect(byKey(i2s).decode.value).toBeCloseTo(2.1);
    expect(byKey(i2s).decode.met).toBe(true);
    expect(byKey(i2s).agg8.value).toBeCloseTo(2.1);
    expect(byKey(i2s).agg8.met).toBe(false);
    expect(byKey(tq1).decode.met).toBe(false);
    expect(byKey(tq1).load).toMatchObject({ value: 4, met: false });
    expect(byKey(tq1).rss).toMatchObject({ value: 1.6, met: false });
    expect(byKey(tq1).eventLoop).toMatchObject({ value: 12, met: true });
  });

  it('leaves ratios unknown when llama.cpp did not run', () => {
    const [c] = compare([result('ours', 'tq2_0', 10)]);
    expect(c.llama).toBeUndefined();
    expect(c.checks.find((k) => k.target.key === 'decode')?.met).toBeUndefined();
    expect(c.checks.find((k) => k.target.key === 'load')?.met).toBe(true);
  });
});

describe('Markdown', () => {
  const results = [result('ours', 'i2_s', 20), result('llama', 'tq2_0', 10)];

  it('renders one row per measurement', () => {
    const t = resultsTable(results).split('\n');
    expect(t).toHaveLength(4);
    expect(t[0]).toBe('| engine | file | load s | TTFT ms | prefill tok/s | decode tok/s | aggregate ×4 tok/s | aggregate ×8 tok/s | decode batch ×4/×8 mean (max) | peak RSS GB | event loop max / p99 ms (×8) | CPU taken by others / steal % | major faults |');
    expect(t[2]).toBe('| bitnet-ts | I2_S | 2.00 | 4267 | 60.0 | 20.0 | 80.0 | 160.0 | 4.0 (4) / 8.0 (8) | 1.20 | 12.0 / 10.5 | 0.4 / 12.3 | 3 |');
    expect(t[3]).toContain('| llama.cpp | TQ2_0 |');
  });

  it('marks each target met or missed and names the stand-in for I2_S', () => {
    const t = targetsTable(compare(results));
    expect(t).toContain('| bitnet-ts I2_S vs llama.cpp TQ2_0 (llama.cpp cannot load I2_S) | decode tok/s | 20.0 | 10.0 | 2.00× | ≥ 1.4× | met |');
    expect(t).toContain('| aggregate, 8 streams | 160.0 | 80.0 | 2.00× | ≥ 4× | **missed** |');
    expect(t).toContain('| load time | 2.00 s | 2.00 s |  | ≤ 3 s | met |');
  });

  it('the report names the machine, the models and any failure', () => {
    const input: ReportInput = {
      machine: { cpuModel: 'Test CPU', cores: 2, isaFlags: { avx2: true, avx512f: false, avx512vnni: false }, kernelIsa: 'native avx2', memoryGB: 16, bandwidthGBs: 20, node: 'v20.0.0', os: 'Linux', date: '2025-01-01T00:00:00.000Z', loadAverage: [0.5, 0.4, 0.3] },
      threads: 2,
      quick: true,
      workload: { promptTokens: 32, newTokens: 8, streamPromptTokens: 8, streamNewTokens: 8 },
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
