/**
 * Turns measurement results into comparisons against llama.cpp and the issue's targets, and
 * renders them as Markdown. Pure functions (the spec runs them on made-up numbers).
 */
import type { ModelType } from './options';
import type { ChildResult } from './workload';

/** A target: a ratio ours/llama.cpp to reach, or an absolute bound on ours. */
export interface Target {
  key: string;
  label: string;
  kind: 'ratio-min' | 'max';
  value: number;
  unit: string;
}

export const TARGETS: Record<string, Target> = {
  decode: { key: 'decode', label: 'decode tok/s', kind: 'ratio-min', value: 1.4, unit: '×' },
  prefill: { key: 'prefill', label: 'prefill tok/s', kind: 'ratio-min', value: 2, unit: '×' },
  agg4: { key: 'agg4', label: 'aggregate, 4 streams', kind: 'ratio-min', value: 2.5, unit: '×' },
  agg8: { key: 'agg8', label: 'aggregate, 8 streams', kind: 'ratio-min', value: 4, unit: '×' },
  load: { key: 'load', label: 'load time', kind: 'max', value: 3, unit: 's' },
  rss: { key: 'rss', label: 'peak RSS', kind: 'max', value: 1.5, unit: 'GB' },
  eventLoop: { key: 'eventLoop', label: 'event-loop delay max (8 streams)', kind: 'max', value: 20, unit: 'ms' },
};

export interface Check {
  target: Target;
  /** The ratio (ratio targets) or our absolute value (bounds); NaN when not measured. */
  value: number;
  ours?: number;
  llama?: number;
  met: boolean | undefined;
}

export function check(target: Target, value: number, ours?: number, llama?: number): Check {
  const known = Number.isFinite(value);
  const met = !known ? undefined : target.kind === 'ratio-min' ? value >= target.value : value <= target.value;
  return { target, value, ours, llama, met };
}

/** ours/llama, NaN when either is missing or llama's is 0. */
export function ratio(ours: number | undefined, llama: number | undefined): number {
  if (ours === undefined || llama === undefined || !Number.isFinite(ours) || !Number.isFinite(llama) || llama === 0) return NaN;
  return ours / llama;
}

/** Which llama.cpp file our file is compared with: I2_S has no llama.cpp counterpart, so TQ2_0 stands in. */
export function llamaCounterpart(type: ModelType): ModelType {
  return type === 'i2_s' ? 'tq2_0' : type;
}

/** How a result of ours is named in the tables. */
export function engineLabel(engine: string): string {
  return engine === 'llama' ? 'llama.cpp' : engine === 'ours-q8' ? 'bitnet-ts (Q8_0 output)' : 'bitnet-ts';
}

export interface Comparison {
  /** 'ours' or 'ours-q8'. */
  engine: string;
  ours: ModelType;
  llama: ModelType | undefined;
  checks: Check[];
}

const aggregate = (r: ChildResult | undefined, n: number) => r?.streams.find((s) => s.streams === n)?.aggregateTokS;

/** One comparison per file our engine ran: ratios against llama.cpp's counterpart and our absolute bounds. */
export function compare(results: ChildResult[]): Comparison[] {
  const find = (engine: string, type: ModelType) => results.find((r) => r.engine === engine && r.type === type);
  const out: Comparison[] = [];
  for (const o of results.filter((r) => r.engine !== 'llama')) {
    const lt = llamaCounterpart(o.type);
    const l = find('llama', lt);
    const eight = o.streams.find((s) => s.streams === 8);
    out.push({
      engine: o.engine,
      ours: o.type,
      llama: l ? lt : undefined,
      checks: [
        check(TARGETS.decode, ratio(o.decode.tokS, l?.decode.tokS), o.decode.tokS, l?.decode.tokS),
        check(TARGETS.prefill, ratio(o.prefill.tokS, l?.prefill.tokS), o.prefill.tokS, l?.prefill.tokS),
        check(TARGETS.agg4, ratio(aggregate(o, 4), aggregate(l, 4)), aggregate(o, 4), aggregate(l, 4)),
        check(TARGETS.agg8, ratio(aggregate(o, 8), aggregate(l, 8)), aggregate(o, 8), aggregate(l, 8)),
        check(TARGETS.load, o.loadMs / 1000, o.loadMs / 1000, l ? l.loadMs / 1000 : undefined),
        check(TARGETS.rss, o.peakRssBytes / 1e9, o.peakRssBytes / 1e9, l ? l.peakRssBytes / 1e9 : undefined),
        check(TARGETS.eventLoop, eight ? eight.eventLoop.maxMs : NaN, eight?.eventLoop.maxMs, undefined),
      ],
    });
  }
  return out;
}

export function fmt(x: number | undefined, digits = 1): string {
  return x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);
}

export function verdict(c: Check): string {
  return c.met === undefined ? 'n/a' : c.met ? 'met' : '**missed**';
}

const bound = (t: Target) => (t.kind === 'ratio-min' ? `≥ ${t.value}×` : `≤ ${t.value} ${t.unit}`);

function mdTable(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** The per-(engine, file) numbers. */
export function resultsTable(results: ChildResult[]): string {
  const counts = [...new Set(results.flatMap((r) => r.streams.map((s) => s.streams)))].sort((a, b) => a - b);
  const head = ['engine', 'file', 'load s', 'TTFT ms', 'prefill tok/s', 'decode tok/s', ...counts.map((n) => `aggregate ×${n} tok/s`), 'decode batch ×' + counts.join('/×') + ' mean (max)', 'peak RSS GB', 'event loop max / p99 ms (×' + counts[counts.length - 1] + ')', 'CPU taken by others / steal %', 'major faults'];
  const rows = results.map((r) => {
    const last = r.streams.find((s) => s.streams === counts[counts.length - 1]);
    return [
      engineLabel(r.engine),
      r.type.toUpperCase(),
      fmt(r.loadMs / 1000, 2),
      fmt(r.prefill.ttftMs, 0),
      fmt(r.prefill.tokS),
      fmt(r.decode.tokS),
      ...counts.map((n) => fmt(aggregate(r, n))),
      counts
        .map((n) => r.streams.find((s) => s.streams === n))
        .map((s) => (s ? `${fmt(s.meanDecodeBatch)} (${s.maxDecodeBatch})` : '—'))
        .join(' / '),
      fmt(r.peakRssBytes / 1e9, 2),
      last ? `${fmt(last.eventLoop.maxMs)} / ${fmt(last.eventLoop.p99Ms)}` : '—',
      r.contention ? `${fmt(r.contention.othersPct)} / ${fmt(r.contention.stealPct)}` : '—',
      r.majorFaults === undefined ? '—' : String(r.majorFaults),
    ];
  });
  return mdTable(head, rows);
}

/** Ratios and bounds against the targets, one row per target and comparison. */
export function targetsTable(comparisons: Comparison[]): string {
  const rows: string[][] = [];
  for (const c of comparisons) {
    const me = `${engineLabel(c.engine)} ${c.ours.toUpperCase()}`;
    const pair = c.llama ? `${me} vs llama.cpp ${c.llama.toUpperCase()}${c.ours !== c.llama ? ' (llama.cpp cannot load I2_S)' : ''}` : `${me} (no llama.cpp run)`;
    for (const k of c.checks) {
      const isRatio = k.target.kind === 'ratio-min';
      rows.push([
        pair,
        k.target.label,
        isRatio ? fmt(k.ours) : `${fmt(k.ours, 2)} ${k.target.unit}`,
        isRatio ? fmt(k.llama) : k.llama === undefined ? '—' : `${fmt(k.llama, 2)} ${k.target.unit}`,
        isRatio ? (Number.isFinite(k.value) ? `${fmt(k.value, 2)}×` : '—') : '',
        bound(k.target),
        verdict(k),
      ]);
    }
  }
  return mdTable(['comparison', 'metric', 'bitnet-ts', 'llama.cpp', 'ratio', 'target', ''], rows);
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  isaFlags: Record<string, boolean>;
  kernelIsa: string;
  memoryGB: number;
  bandwidthGBs?: number;
  node: string;
  os: string;
  date: string;
  loadAverage: number[];
}

export interface ReportInput {
  machine: MachineInfo;
  threads: number;
  quick: boolean;
  workload: { promptTokens: number; newTokens: number; streamPromptTokens: number; streamNewTokens: number };
  models: Array<{ type: string; arch: string; file: string; bytes: number; source: string; madeSeconds: number }>;
  results: ChildResult[];
  failures: Array<{ engine: string; type: string; error: string }>;
  totalSeconds: number;
}

export function renderMarkdown(r: ReportInput): string {
  const m = r.machine;
  const w = r.workload;
  const flags = Object.entries(m.isaFlags).map(([k, v]) => `${k} ${v ? 'yes' : 'no'}`).join(', ');
  const lines = [
    '# Inference bench: bitnet-ts vs llama.cpp',
    '',
    `${m.date} · ${m.cpuModel} (${m.cores} CPUs; ${flags}) · our kernels: ${m.kernelIsa} · ${m.memoryGB.toFixed(0)} GB RAM` +
      (m.bandwidthGBs ? ` · read bandwidth ${m.bandwidthGBs.toFixed(1)} GB/s` : '') +
      ` · Node ${m.node} · ${m.os} · load average at start ${m.loadAverage.map((x) => x.toFixed(2)).join(' ')}`,
    '',
    `Both engines: ${r.threads} threads, greedy, the same prompt token ids. ${r.quick ? '**Quick run** (fewer tokens; checks the harness only). ' : ''}` +
      `Single stream: ${w.promptTokens}-token prompt (prefill tok/s = prompt / time to first token), then ${w.newTokens} new tokens (decode tok/s over the ${w.newTokens - 1} after the first). ` +
      `Concurrent streams: each its own ${w.streamPromptTokens}-token prompt and ${w.streamNewTokens} new tokens, all submitted at once; aggregate = all new tokens / (submit → last completion). ` +
      'Each (engine, file) runs in its own Node process after a short warm-up generation; peak RSS is its VmHWM. ' +
      'Event-loop delay: how late a 10 ms timer on the main thread fired while the 8 streams ran (monitorEventLoopDelay reading − its 10 ms resolution). ' +
      'llama.cpp load = loadModel + createContext (mmap); ours = InferenceEngine.load (weights read into memory).',
    '',
    '## Measurements',
    '',
    resultsTable(r.results),
    '',
    '"CPU taken by others / steal": share of all cores\' time that other processes used, and that the hypervisor withheld (steal), while the measurement process ran; above a few percent that row is disturbed. "major faults": pages read from disk after the warm-up (mapped weights the OS had dropped). ' +
      '"decode batch": mean sequences per batched decode step while the streams ran (ours: engine counters; llama.cpp: counted at its decode calls) — N means all N streams advanced together. ' +
      'node-llama-cpp puts all N prompts into one decode call, then dispatches each decode as soon as some sequences have their next token, so about N−1 of the N streams share a call (the one left out rotates).',
    '',
    '## Against the targets',
    '',
    targetsTable(compare(r.results)),
    '',
    '## Models',
    '',
    ...r.models.map((x) => `- ${x.type.toUpperCase()}: \`${x.file}\` (arch \`${x.arch}\`, ${(x.bytes / 1e9).toFixed(2)} GB, ${x.source === 'made' ? `made in ${x.madeSeconds.toFixed(0)} s` : `reused (${x.source})`})`),
    '',
    'The TQ2_0/TQ1_0 files use arch `bitnet` because llama.cpp does not know `bitnet-b1.58`; the I2_S file is `bitnet-b1.58` (llama.cpp cannot load I2_S at all).',
  ];
  const notes = r.results.flatMap((x) => x.notes.map((n) => `- ${x.engine} ${x.type}: ${n}`));
  if (notes.length) lines.push('', '## Notes', '', ...notes);
  if (r.failures.length) lines.push('', '## Failed measurements', '', ...r.failures.map((f) => `- ${f.engine} ${f.type}: ${f.error}`));
  lines.push('', `Total bench time ${r.totalSeconds.toFixed(0)} s.`, '');
  return lines.join('\n');
}
