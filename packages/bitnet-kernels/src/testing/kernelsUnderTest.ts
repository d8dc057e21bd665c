/**
 * The implementations a spec should check against its references: always the TypeScript kernels,
 * plus the kernels createKernels() picks when that is the native addon (`-c cpu`, or auto with the
 * addon built). Both come wrapped in CheckedKernels, as callers get them.
 * Test support only: not part of the published build.
 */
import { CheckedKernels } from '../api/CheckedKernels';
import { createKernels } from '../api/createKernels';
import type { Kernels } from '../api/Kernels';
import { kernelBackend } from '../backend/KernelBackend';
import { TsKernels } from '../ts/TsKernels';

export function kernelsUnderTest(): [string, Kernels][] {
  const list: [string, Kernels][] = [['ts', new CheckedKernels(new TsKernels())]];
  if (kernelBackend().name === 'native') {
    const native = createKernels();
    list.push([`native/${native.isa}`, native]);
  }
  return list;
}
