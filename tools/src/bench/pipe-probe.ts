#!/usr/bin/env node
/**
 * `npx nx run bitnet-kernels:probe-pipes` — which instructions share ports with the one a kernel is
 * bound by, on this CPU (native/probes/pipe_mix.cpp explains the measurement).
 *
 * Compiles the probe with g++ ($CXX) into a temporary directory, once for 256-bit registers (AVX2,
 * with AVX-VNNI's vpdpbusd when /proc/cpuinfo lists avx_vnni, vpmaddubsw otherwise) and once for
 * 512-bit registers when the CPU has AVX-512 VNNI, runs each, and prints one table. A cell is the extra
 * time one added instruction costs in units of the stream's own instruction: ~0 means it issues beside
 * the stream for free, ~1 that it takes a dp or FMA slot. Kernel designs on a new CPU start here (the
 * TQ2_0 epilogue's vmulps and the tiles' stores cost a vpdpbusd each on Zen 4; converts, permutes,
 * shuffles, loads and broadcasts cost nothing there).
 *
 * The 512-bit build also times vpermb and vpmultishiftqb when the CPU has VBMI, and vgf2p8affineqb with
 * GFNI; both builds time vpmaddubsw (on Zen 4 those four take a vpdpbusd slot, or part of one).
 *
 * Options: --quick (a fraction of a second per build; checks the harness, the numbers mean little).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cpuInfo } from './cpuInfo';

export interface ProbeColumn {
  /** Register width of the build (256 or 512). */
  width: number;
  /** The int8 dot product its dp stream issues (vnni, vnni-vex or maddubs). */
  dp: string;
  /** Instruction name → [cost in the dp stream, cost in the FMA stream]. */
  costs: Map<string, [number, number]>;
}

const SOURCE = path.resolve(__dirname, '../../../native/probes/pipe_mix.cpp');

/** The probe's output: a header line `width W, dp stream: D`, then `name<TAB>dp<TAB>fma` lines. */
export function parseProbeOutput(text: string): ProbeColumn {
  const lines = text.trim().split('\n');
  const head = /^width (\d+), dp stream: (\S+)$/.exec(lines[0] ?? '');
  if (!head) throw new Error(`pipe probe: unexpected first line ${JSON.stringify(lines[0])}`);
  const costs = new Map<string, [number, number]>();
  for (const line of lines.slice(1)) {
    const [name, dp, fma, ...rest] = line.split('\t');
    const a = Number(dp), b = Number(fma);
    if (!name || rest.length > 0 || dp === undefined || fma === undefined || !Number.isFinite(a) || !Number.isFinite(b)) throw new Error(`pipe probe: unexpected line ${JSON.stringify(line)}`);
    costs.set(name, [a, b]);
  }
  return { width: Number(head[1]), dp: head[2], costs };
}

/** The Markdown table of one or more builds' columns (instructions in the first column's order). */
export function probeTable(columns: readonly ProbeColumn[]): string {
  const names = [...new Set(columns.flatMap((c) => [...c.costs.keys()]))];
  const head = columns.flatMap((c) => [`${c.width}-bit, in a ${c.dp} stream`, `${c.width}-bit, in an FMA stream`]);
  const rows = names.map((n) => `| ${n} | ${columns.flatMap((c) => (c.costs.get(n) ?? [NaN, NaN]).map((v) => (Number.isNaN(v) ? '—' : v.toFixed(2)))).join(' | ')} |`);
  return [`| instruction | ${head.join(' | ')} |`, `|---|${head.map(() => '---|').join('')}`, ...rows].join('\n');
}

/** Compiles and runs one build; `flags` are the target options. */
function runBuild(dir: string, name: string, flags: string[], args: string[]): ProbeColumn {
  const exe = path.join(dir, name);
  execFileSync(process.env.CXX ?? 'g++', ['-O2', '-std=c++17', ...flags, '-o', exe, SOURCE], { stdio: ['ignore', 'inherit', 'inherit'] });
  return parseProbeOutput(execFileSync(exe, args, { encoding: 'utf8' }));
}

/** Runs the builds this CPU can execute and returns their columns (x86-64 Linux only). */
export function runPipeProbe(quick: boolean): ProbeColumn[] {
  if (process.arch !== 'x64') throw new Error(`pipe probe: x86-64 only (this is ${process.arch})`);
  const { flags } = cpuInfo();
  if (!flags.has('avx2') || !flags.has('fma') || !flags.has('f16c')) throw new Error('pipe probe: needs AVX2, FMA and F16C');
  const mode = quick ? '--quick' : '--full';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-pipe-probe-'));
  try {
    const vex = flags.has('avx_vnni');
    const columns = [runBuild(dir, 'probe256', ['-mavx2', '-mfma', '-mf16c', ...(vex ? ['-mavxvnni'] : [])], [mode, vex ? 'vnni-vex' : 'maddubs'])];
    if (['avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni'].every((f) => flags.has(f))) {
      const extras = ['avx512vbmi', 'gfni'].filter((f) => flags.has(f));
      const f512 = ['-DPROBE_512', '-mavx512f', '-mavx512bw', '-mavx512vl', '-mavx512vnni', '-mfma', '-mf16c', ...extras.map((f) => `-m${f}`)];
      columns.push(runBuild(dir, 'probe512', f512, [mode, 'vnni', extras.map((f) => f.replace('avx512', '')).join(',') || 'none']));
    }
    return columns;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const quick = process.argv.includes('--quick');
  console.log(`${cpuInfo().model}: extra time of one added instruction, in units of the stream's instruction (2 per 8)\n`);
  console.log(probeTable(runPipeProbe(quick)));
}
