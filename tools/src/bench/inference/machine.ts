/** What machine the bench ran on: CPU, ISA flags, our kernels' ISA, memory read bandwidth. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { defaultModeAddon } from '@bitnet/kernels/testing';
import { probeBandwidth } from './workload';
import type { MachineInfo } from './report';

/**
 * Reads /proc/cpuinfo and probes the bandwidth with our native pool (needs BITNET_THREADS set before the
 * first kernel call); `probeFile`: a model file the probe reads in place (see probeBandwidth).
 */
export function machineInfo(probeFile?: string): MachineInfo {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  let flags = new Set<string>();
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    cpuModel = /model name\s*:\s*(.*)/.exec(info)?.[1]?.trim() ?? cpuModel;
    flags = new Set((/^flags\s*:\s*(.*)$/m.exec(info)?.[1] ?? '').split(/\s+/));
  } catch {
    // not Linux: the model from os.cpus() and no flags
  }
  const addon = defaultModeAddon();
  let bandwidthGBs: number | undefined;
  let kernelIsa = 'ts (native addon not in use)';
  if (addon) {
    kernelIsa = `native ${addon.selectedIsa()}, stream prefetch ${addon.streamPrefetch()}`;
    bandwidthGBs = probeBandwidth(probeFile);
  }
  return {
    cpuModel,
    cores: os.cpus().length,
    isaFlags: { avx2: flags.has('avx2'), avx512f: flags.has('avx512f'), avx512vnni: flags.has('avx512_vnni') },
    kernelIsa,
    memoryGB: os.totalmem() / 1e9,
    bandwidthGBs,
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    date: new Date().toISOString(),
    loadAverage: os.loadavg(),
  };
}
