/**
 * Turns measurement results into comparisons against llama.cpp and the issue's targets, and
 * renders them as Markdown. Pure functions (the spec runs them on made-up numbers).
 */
import type { ModelType } from './options';
import { bytesPerDecodeStep, meanDecodePositions, rooflineTokS } from './roofline';
import type { ChildResult } from './workload';

/** A target: a ratio ours/llama.cpp to reach, or an absolute lower ('min') or upper ('max') bound on ours. */
export interface Target {
  key: string;
  label: string;
  kind: 'ratio-min' | 'min' | 'max';
  value: number;
  unit: string;
  /** Decimals of the values shown for a bound (default 2). */
  digits?: number;
}

/** Issue 16's targets. Peak RSS has none: it counts the mapped file's pages; the private peak is bounded instead. */
export const TARGETS: Record<string, Target> = {
  decode: { key: 'decode', label: 'decode tok/s', kind: 'ratio-min', value: 1.4, unit: '×' },
  prefill: { key: 'prefill', label: 'prefill tok/s', kind: 'ratio-min', value: 3, unit: '×' },
  agg4: { key: 'agg4', label: 'aggregate, 4 streams', kind: 'ratio-min', value: 2.5, unit: '×' },
  agg8: { key: 'agg8', label: 'aggregate, 8 streams', kind: 'ratio-min', value: 5, unit: '×' },
  roofline: { key: 'roofline', label: 'decode, % of bandwidth roofline', kind: 'min', value: 90, unit: '%', digits: 1 },
  load: { key: 'load', label: 'load time', kind: 'max', value: 0.5, unit: 's' },
  privatePeak: { key: 'privatePeak', label: 'peak private memory (long context)', kind: 'max', value: 0.4, unit: 'GB' },
  eventLoop: { key: 'eventLoop', label: 'event-loop delay max (8 streams)', kind: 'max', value: 10, unit: 'ms', digits: 1 },
  constrained: { key: 'constrained', label: 'decode with a JSON schema, % of unconstrained', kind: 'min', value: 80, unit: '%', digits: 1 },
  chat: { key: 'chat', label: 'chat TTFT with the prompt cache, worst turn / turn 1', kind: 'max', value: 1.3, unit: '×' },
};

/** The worst turn's TTFT with the prompt cache over turn 1's; NaN without a cached chat run. */
export function chatWorstRatio(r: ChildResult): number {
  const t = r.chat;
  if (!t || t.length === 0 || t[0].cachedTtftMs === undefined) return NaN;
  return Math.max(...t.map((x) => (x.cachedTtftMs ?? NaN) / (t[0].cachedTtftMs as number)));
}

export interface Check {
  target: Target;
  /** The ratio (ratio targets) or our absolute value (bounds); NaN when not measured. */
  value: number;
  ours?: number;
  llama?: number;
  /** undefined when not measured or informational. */
  met: boolean | undefined;
  /** Shown for reference; the target does not apply to this engine or file. */
  informational?: boolean;
}

export function check(target: Target, value: number, ours?: number, llama?: number, informational = false): Check {
  const known = Number.isFinite(value);
  const met = !known || informational ? undefined : target.kind === 'max' ? value <= target.value : value >= target.value;
  return { target, value, ours, llama, met, ...(informational ? { informational } : {}) };
}

/** The decode roofline of one result: bytes a timed decode step reads on average, the tok/s the bandwidth allows, and decode tok/s as a share of it. */
export interface Roofline {
  bytesPerToken: number;
  tokS: number;
  pct: number;
}

/** See Roofline; the bandwidth probed around the result's own decode when it has one, else `bandwidthGBs`; NaN figures when the decode bytes or the bandwidth are unknown. */
export function roofline(r: ChildResult, bandwidthGBs: number | undefined): Roofline {
  if (!r.decodeBytes) return { bytesPerToken: NaN, tokS: NaN, pct: NaN };
  const bytesPerToken = bytesPerDecodeStep(r.decodeBytes, meanDecodePositions(r.prefill.promptTokens, r.decode.tokens + 1));
  const tokS = rooflineTokS(r.decodeBandwidthGBs ?? bandwidthGBs, bytesPerToken);
  // the share measured beside its probes when there is one (see PairedRoofline)
  return { bytesPerToken, tokS, pct: r.pairedRoofline?.pct ?? (r.decode.tokS / tokS) * 100 };
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
  return engine === 'llama' ? 'llama.cpp' : engine === 'ours-q8' ? 'bitnet-ts (Q8_0 output)' : engine === 'ours-screened' ? 'bitnet-ts (screened output)' : 'bitnet-ts';
}

export interface Comparison {
  /** 'ours', 'ours-q8' or 'ours-screened'. */
  engine: string;
  ours: ModelType;
  llama: ModelType | undefined;
  checks: Check[];
}

const aggregate = (r: ChildResult | undefined, n: number) => r?.streams.find((s) => s.streams === n)?.aggregateTokS;

/**
 * One comparison per file our engine ran: ratios against llama.cpp's counterpart and our absolute
 * bounds. The roofline bound applies to the engines whose tokens are the exact output's (exact, and
 * screened: the same greedy tokens), the constrained-decode bound to the exact engine, the private-memory
 * bound to the exact I2_S engine (the issue's case); the other rows show them for reference.
 */
export function compare(results: ChildResult[], bandwidthGBs?: number): Comparison[] {
  const find = (engine: string, type: ModelType) => results.find((r) => r.engine === engine && r.type === type);
  const out: Comparison[] = [];
  for (const o of results.filter((r) => r.engine !== 'llama')) {
    const exactTokens = o.engine === 'ours' || o.engine === 'ours-screened';
    const lt = llamaCounterpart(o.type);
    const l = find('llama', lt);
    const eight = o.streams.find((s) => s.streams === 8);
    const roof = roofline(o, bandwidthGBs).pct;
    const llamaRoof = l ? roofline(l, bandwidthGBs).pct : undefined;
    const privateGB = o.longContext ? o.longContext.memory.peakPrivateBytes / 1e9 : NaN;
    const llamaPrivateGB = l?.longContext ? l.longContext.memory.peakPrivateBytes / 1e9 : undefined;
    out.push({
      engine: o.engine,
      ours: o.type,
      llama: l ? lt : undefined,
      checks: [
        check(TARGETS.decode, ratio(o.decode.tokS, l?.decode.tokS), o.decode.tokS, l?.decode.tokS),
        check(TARGETS.prefill, ratio(o.prefill.tokS, l?.prefill.tokS), o.prefill.tokS, l?.prefill.tokS),
        check(TARGETS.agg4, ratio(aggregate(o, 4), aggregate(l, 4)), aggregate(o, 4), aggregate(l, 4)),
        check(TARGETS.agg8, ratio(aggregate(o, 8), aggregate(l, 8)), aggregate(o, 8), aggregate(l, 8)),
        check(TARGETS.roofline, roof, roof, llamaRoof, !exactTokens),
        check(TARGETS.load, o.loadMs / 1000, o.loadMs / 1000, l ? l.loadMs / 1000 : undefined),
        check(TARGETS.privatePeak, privateGB, privateGB, llamaPrivateGB, !(o.engine === 'ours' && o.type === 'i2_s')),
        check(TARGETS.eventLoop, eight ? eight.eventLoop.maxMs : NaN, eight?.eventLoop.maxMs, undefined),
        // the exact-output engine's bound; the others show it for reference (Q8_0 output: other logits;
        // screened: its grammar rows read the exact matrix while its unconstrained rows are screened)
        check(TARGETS.constrained, o.constrained?.pctOfUnconstrained ?? NaN, o.constrained?.pctOfUnconstrained, undefined, o.engine !== 'ours'),
        check(TARGETS.chat, chatWorstRatio(o), chatWorstRatio(o), undefined),
      ],
    });
  }
  return out;
}

export function fmt(x: number | undefined, digits = 1): string {
  return x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);
}

export function verdict(c: Check): string {
  if (c.informational) return 'for reference';
  return c.met === undefined ? 'n/a' : c.met ? 'met' : '**missed**';
}

const bound = (t: Target) => (t.kind === 'ratio-min' ? `≥ ${t.value}×` : `${t.kind === 'min' ? '≥' : '≤'} ${t.value} ${t.unit}`);
const gb = (bytes: number | undefined) => fmt(bytes === undefined ? undefined : bytes / 1e9, 2);

function mdTable(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** The per-(engine, file) numbers; the roofline columns need the machine's read bandwidth. */
export function resultsTable(results: ChildResult[], bandwidthGBs?: number): string {
  const counts = [...new Set(results.flatMap((r) => r.streams.map((s) => s.streams)))].sort((a, b) => a - b);
  const head = ['engine', 'file', 'load s', 'TTFT ms', 'prefill tok/s', 'decode tok/s', 'roofline tok/s', '% of roofline', ...counts.map((n) => `aggregate ×${n} tok/s`), 'decode batch ×' + counts.join('/×') + ' mean (max)', 'JSON-schema decode tok/s (% of unconstrained)', 'mask ms/token', 'peak RSS GB', 'of it file-backed GB', 'peak private GB', 'event loop max / p99 ms (×' + counts[counts.length - 1] + '; longest main-thread GC burst)', 'CPU taken by others / steal %', 'major faults'];
  const rows = results.map((r) => {
    const last = r.streams.find((s) => s.streams === counts[counts.length - 1]);
    const roof = roofline(r, bandwidthGBs);
    return [
      engineLabel(r.engine),
      r.type.toUpperCase(),
      fmt(r.loadMs / 1000, 2),
      fmt(r.prefill.ttftMs, 0),
      fmt(r.prefill.tokS),
      fmt(r.decode.tokS),
      fmt(roof.tokS),
      fmt(roof.pct),
      ...counts.map((n) => fmt(aggregate(r, n))),
      counts
        .map((n) => r.streams.find((s) => s.streams === n))
        .map((s) => (s ? `${fmt(s.meanDecodeBatch)} (${s.maxDecodeBatch})` : '—'))
        .join(' / '),
      r.constrained ? `${fmt(r.constrained.decodeTokS)} (${fmt(r.constrained.pctOfUnconstrained, 0)} %)` : '—',
      r.constrained ? fmt(r.constrained.maskMsPerToken, 2) : '—',
      gb(r.memory.peakRssBytes),
      gb(r.memory.fileBackedAtPeakBytes),
      gb(r.memory.peakPrivateBytes),
      last ? `${fmt(last.eventLoop.maxMs)} / ${fmt(last.eventLoop.p99Ms)}${last.mainGc ? ` (${fmt(last.mainGc.longestBurstMs)})` : ''}` : '—',
      r.contention ? `${fmt(r.contention.othersPct)} / ${fmt(r.contention.stealPct)}` : '—',
      r.majorFaults === undefined ? '—' : String(r.majorFaults),
    ];
  });
  return mdTable(head, rows);
}

/** The long-context sequence of each result that ran one (empty string when none did). */
export function longContextTable(results: ChildResult[]): string {
  const rows = results.flatMap((r) => {
    const x = r.longContext;
    if (!x) return [];
    return [[engineLabel(r.engine), r.type.toUpperCase(), `${x.promptTokens} + ${x.newTokens}`, fmt(x.ttftMs / 1000, 1), fmt(x.prefillTokS), fmt(x.decodeTokS), gb(x.memory.peakRssBytes), gb(x.memory.fileBackedAtPeakBytes), gb(x.memory.peakPrivateBytes)]];
  });
  if (rows.length === 0) return '';
  return mdTable(['engine', 'file', 'prompt + new tokens', 'TTFT s', 'prefill tok/s', 'decode tok/s', 'peak RSS GB', 'of it file-backed GB', 'peak private GB'], rows);
}

/**
 * The multi-turn chat of each result that ran one: per turn, the prompt (the conversation so far), the
 * time to first token and its ratio to turn 1's (issue 18's bound: ≤ 1.3 with a prompt cache).
 * Empty string when none did.
 */
export function chatTable(results: ChildResult[]): string {
  const rows = results.flatMap((r) => {
    const turns = r.chat;
    if (!turns || turns.length === 0) return [];
    const first = turns[0].ttftMs;
    const firstCached = turns[0].cachedTtftMs;
    return turns.map((t) => [
      engineLabel(r.engine),
      r.type.toUpperCase(),
      String(t.turn),
      String(t.promptTokens),
      fmt(t.ttftMs / 1000, 2),
      `${fmt(t.ttftMs / first, 2)}×`,
      t.cachedTtftMs === undefined ? '—' : fmt(t.cachedTtftMs / 1000, 2),
      t.cachedTtftMs === undefined || firstCached === undefined ? '—' : `${fmt(t.cachedTtftMs / firstCached, 2)}×`,
      t.cachedTokens === undefined ? '—' : String(t.cachedTokens),
    ]);
  });
  if (rows.length === 0) return '';
  return mdTable(['engine', 'file', 'turn', 'prompt tokens', 'TTFT s, no cache', 'of turn 1', 'TTFT s, prompt cache', 'of turn 1 (target ≤ 1.3×)', 'cached tokens'], rows);
}

/** Ratios and bounds against the targets, one row per target and comparison. */
export function targetsTable(comparisons: Comparison[]): string {
  const rows: string[][] = [];
  for (const c of comparisons) {
    const me = `${engineLabel(c.engine)} ${c.ours.toUpperCase()}`;
    const pair = c.llama ? `${me} vs llama.cpp ${c.llama.toUpperCase()}${c.ours !== c.llama ? ' (llama.cpp cannot load I2_S)' : ''}` : `${me} (no llama.cpp run)`;
    for (const k of c.checks) {
      const isRatio = k.target.kind === 'ratio-min';
      const d = k.target.digits ?? 2;
      rows.push([
        pair,
        k.target.label,
        isRatio ? fmt(k.ours) : `${fmt(k.ours, d)} ${k.target.unit}`,
        isRatio ? fmt(k.llama) : k.llama === undefined || !Number.isFinite(k.llama) ? '—' : `${fmt(k.llama, d)} ${k.target.unit}`,
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
  workload: { promptTokens: number; newTokens: number; streamPromptTokens: number; streamNewTokens: number; longContextTokens: number; longNewTokens: number; chat: { turns: number; firstPromptTokens: number; userTokens: number; replyTokens: number } };
  models: Array<{ type: string; arch: string; file: string; bytes: number; source: string; madeSeconds: number }>;
  results: ChildResult[];
  failures: Array<{ engine: string; type: string; error: string }>;
  totalSeconds: number;
}

function longContextSection(r: ReportInput): string[] {
  const table = longContextTable(r.results);
  if (!table) return [];
  const w = r.workload;
  return [
    '## Long context',
    '',
    `One sequence filling a ${w.longContextTokens}-token context: a ${w.longContextTokens - w.longNewTokens}-token prompt, then ${w.longNewTokens} new tokens (greedy; our engine sizes the KV cache for exactly these positions). ` +
      'Memory peaks are sampled while it ran; its peak private memory is what the private-memory target reads.',
    '',
    table,
    '',
  ];
}

function chatSection(r: ReportInput): string[] {
  const table = chatTable(r.results);
  if (!table) return [];
  const c = r.workload.chat;
  return [
    '## Multi-turn chat',
    '',
    `${c.turns} turns at the id level: turn 1 a ${c.firstPromptTokens}-token prompt; each later turn's prompt is the previous one, its ${c.replyTokens}-token greedy reply and ${c.userTokens} new user ids. ` +
      'Time to first token from submission, first on the measured engine (no prompt cache: every turn prefills the whole conversation), then on a second engine with a 256 MB prompt cache (each turn restores the blocks of the conversation so far and computes the rest).',
    '',
    table,
    '',
  ];
}

/** The whole report: machine, method, measurements, the long-context run, the targets, the models. */
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
      'Each (engine, file) runs in its own Node process after a short warm-up generation. ' +
      'Event-loop delay: how late a 10 ms timer on the main thread fired while the 8 streams ran (monitorEventLoopDelay reading − its 10 ms resolution); in brackets, the longest stretch of back-to-back garbage-collection pauses of the main thread meanwhile (PerformanceObserver \'gc\'), which a delay near it was. ' +
      'llama.cpp load = loadModel + createContext (mmap); ours = InferenceEngine.load (the GGUF is mapped read-only and most weights are used in place; converted matrices such as a Q8_0 output or repacked TQ1_0 are private copies).',
    '',
    '## Measurements',
    '',
    resultsTable(r.results, m.bandwidthGBs),
    '',
    '"roofline tok/s": the read bandwidth (probed in the measuring process right before and right after its single-stream run, the larger of the two, since the machine\'s bandwidth drifts; the figure above when missing; a probe is every pool thread streaming 1 GiB of the model file itself, mapped for the probe and already in the page cache: the pages a decode step reads, and nothing allocated or freed) divided by the bytes one timed decode step reads: the weights (every layer matrix and vector, the output norm and the output matrix as the engine holds it, ' +
      'one row of the token-embedding table unless it is the tied output matrix; ours from the engine\'s load info, llama.cpp from the file\'s tensor list) plus the f16 KV cache at the mean decode position. ' +
      '"% of roofline": for our engine, the median of 7 rounds of (bandwidth probe, a 33-token greedy decode after an 8-token prompt, probe), each round\'s decode tok/s against the mean of its two probes over the bytes its steps read, because this machine\'s bandwidth drifts by tens of percent within minutes; for llama.cpp (for reference) the single-stream decode tok/s as a share of the roofline tok/s. ' +
      '"peak RSS": largest resident set sampled from /proc/self/status every 25 ms over the whole measurement (and at least VmHWM); "of it file-backed": RssFile at that peak (mapped model pages, shared with the page cache); ' +
      '"peak private": largest RssAnon + RssShmem (memory that is the process\'s own). ' +
      '"CPU taken by others / steal": share of all cores\' time that other processes used, and that the hypervisor withheld (steal), while the measurement process ran; above a few percent that row is disturbed. "major faults": pages read from disk after the warm-up (mapped weights the OS had dropped). ' +
      '"decode batch": mean sequences per batched decode step while the streams ran (ours: engine counters; llama.cpp: counted at its decode calls) — N means all N streams advanced together. ' +
      '"JSON-schema decode": our single-stream prompt again (greedy), constrained by a fixed JSON schema (integers, bounded strings, an enum, an array of at least 40 small objects), ' +
      'the better of two runs, with its share of the better of two unconstrained runs alternating with them (so bandwidth drift between the two cannot decide the share); "mask ms/token": the model thread\'s time computing and applying token masks per generated token (the vocabulary\'s mask trie is built by a constrained warm-up run first). ' +
      'node-llama-cpp puts all N prompts into one decode call, then dispatches each decode as soon as some sequences have their next token, so about N−1 of the N streams share a call (the one left out rotates).',
    '',
    ...longContextSection(r),
    ...chatSection(r),
    '## Against the targets',
    '',
    targetsTable(compare(r.results, m.bandwidthGBs)),
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
