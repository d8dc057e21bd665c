/** The machine's CPU as the benches name it. */
import * as fs from 'node:fs';
import * as os from 'node:os';

export interface CpuInfo {
  /** /proc/cpuinfo's model name; elsewhere os.cpus()'s. */
  model: string;
  /** /proc/cpuinfo's feature flags of the first CPU (avx2, avx512_vnni, amx_int8...); empty elsewhere. */
  flags: Set<string>;
}

export function cpuInfo(): CpuInfo {
  let model = os.cpus()[0]?.model ?? 'unknown';
  let flags = new Set<string>();
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    model = /model name\s*:\s*(.*)/.exec(info)?.[1]?.trim() ?? model;
    flags = new Set((/^flags\s*:\s*(.*)$/m.exec(info)?.[1] ?? '').split(/\s+/));
  } catch {
    // not Linux: the model from os.cpus() and no flags
  }
  return { model, flags };
}
