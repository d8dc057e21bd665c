/** What machine the bench ran on: CPU, ISA flags, our kernels' ISA, memory read bandwidth. */
import * as os from 'node:os';
import { defaultModeAddon } from '@bitnet/kernels/testing';
import { cpuInfo } from '../cpuInfo';
import { probeBandwidth } from './workload';
import type { MachineInfo } from './report';

/**
 * Reads /proc/cpuinfo and probes the bandwidth with our native pool (needs BITNET_THREADS set before the
 * first kernel call); `probeFile`: a model file the probe reads in place (see probeBandwidth).
 */
export function machineInfo(probeFile?: string): MachineInfo {
  const { model: cpuModel, flags } = cpuInfo();
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
