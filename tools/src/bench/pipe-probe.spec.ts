import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { parseProbeOutput, probeTable, runPipeProbe } from './pipe-probe';

describe('pipe probe', () => {
  const sample = 'width 512, dp stream: vnni\nvmulps\t0.98\t1.00\nvpermps\t0.03\t-0.04\n';

  it('parses the probe output into costs by instruction', () => {
    const c = parseProbeOutput(sample);
    expect(c.width).toBe(512);
    expect(c.dp).toBe('vnni');
    expect([...c.costs]).toEqual([
      ['vmulps', [0.98, 1]],
      ['vpermps', [0.03, -0.04]],
    ]);
  });

  it('rejects output it does not understand', () => {
    expect(() => parseProbeOutput('hello')).toThrow(/unexpected first line/);
    expect(() => parseProbeOutput('width 256, dp stream: maddubs\nvmulps\t0.9')).toThrow(/unexpected line/);
    expect(() => parseProbeOutput('width 256, dp stream: maddubs\nvmulps\tx\t1')).toThrow(/unexpected line/);
  });

  it('prints one row per instruction and two columns per build, with — where a build lacks one', () => {
    const a = parseProbeOutput(sample);
    const b = parseProbeOutput('width 256, dp stream: maddubs\nvmulps\t0.95\t0.92\n');
    expect(probeTable([b, a]).split('\n')).toEqual([
      '| instruction | 256-bit, in a maddubs stream | 256-bit, in an FMA stream | 512-bit, in a vnni stream | 512-bit, in an FMA stream |',
      '|---|---|---|---|---|',
      '| vmulps | 0.95 | 0.92 | 0.98 | 1.00 |',
      '| vpermps | — | — | 0.03 | -0.04 |',
    ]);
  });

  const hasCompiler = (() => {
    try {
      execFileSync(process.env.CXX ?? 'g++', ['--version'], { stdio: 'ignore' });
      return process.arch === 'x64' && /\bavx2\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    } catch {
      return false;
    }
  })();
  (hasCompiler ? it : it.skip)('compiles and runs on this CPU (x86-64 with AVX2 and a g++): every instruction gets a finite cost in every build', () => {
    const columns = runPipeProbe(true);
    expect(columns[0].width).toBe(256);
    expect(columns[0].costs.size).toBe(21);
    for (const c of columns) for (const [, v] of c.costs) for (const x of v) expect(Number.isFinite(x)).toBe(true);
  }, 120_000);
});
