/**
 * Which native kernels a spec runs on: the addon's every available instruction set (switched one by
 * one with its test hook) and, when build/Release/bitnet_kernels_avx512emu.node exists
 * (BITNET_NATIVE_EMU=1 node scripts/build-native.js, needs the SIMDe headers), the AVX-VNNI and
 * AVX-512 (and AVX-512 VBMI) kernels through SIMDe's emulated intrinsics, so machines without them still test that code.
 *
 * With `-c cpu` (BITNET_KERNELS=native) a missing addon fails loudly at import; with `-c ts` the
 * native describes are skipped; in auto mode they run when the addon is built.
 * Test support only: not part of the published build.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Kernels } from '../api/Kernels';
import { defaultModeAddon, kernelBackend, requestedKernelMode } from '../backend/KernelBackend';
import type { NativeAddon } from '../native/addon';
import { NativeKernels } from '../native/NativeKernels';

export const mode = requestedKernelMode();
export const backend = mode === 'ts' ? undefined : kernelBackend(); // -c cpu without the addon: throws here, loudly
export const mainAddon: NativeAddon | undefined = mode === 'ts' ? undefined : defaultModeAddon();
const emuPath = path.resolve(__dirname, '../../build/Release/bitnet_kernels_avx512emu.node');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const emuAddon: NativeAddon | undefined = mainAddon && fs.existsSync(emuPath) ? require(emuPath) : undefined;

const tsKernelsFile = path.resolve(__dirname, '../ts/TsKernels.ts');
/** The TypeScript kernels (unchecked), when their sources are present: a third implementation to compare with. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const tsKernels: Kernels | undefined = fs.existsSync(tsKernelsFile) ? new (require('../ts/TsKernels').TsKernels)() : undefined;

interface Variant {
  label: string;
  addon: NativeAddon;
  isas: string[];
}
const variants: Variant[] = [];
if (mainAddon) variants.push({ label: 'addon', addon: mainAddon, isas: mainAddon.availableIsas() });
if (emuAddon) variants.push({ label: 'SIMDe-emulated addon', addon: emuAddon, isas: ['avxvnni', 'avx512', 'avx512vbmi'] });

/** Runs fn with the addon switched to `isa`, then back. */
export function withIsa<T>(addon: NativeAddon, isa: string, fn: () => T): T {
  const prev = addon.setIsaForTests(isa);
  try {
    return fn();
  } finally {
    addon.setIsaForTests(prev);
  }
}

const cases = variants.map((v) => v.isas.map((isa) => [`${v.label}: ${isa}`, v, isa] as const)).flat();
// Without the addon (TypeScript kernels in use) one placeholder case, skipped.
const describeNative = cases.length > 0 ? describe : describe.skip;

export interface IsaContext {
  /** The unchecked native kernels of the variant, running `isa`. */
  k: NativeKernels;
  addon: NativeAddon;
  isa: string;
  /** Runs fn on the generic (portable C++) kernels of the same addon. */
  generic<T>(fn: () => T): T;
}

/** describe(`${title} — <variant>: <isa>`) for every variant and ISA, the addon switched to that ISA for the block. */
export function describeNativeIsas(title: string, body: (c: IsaContext) => void): void {
  describeNative.each(cases.length > 0 ? cases : [['no addon', { label: 'none', addon: undefined as unknown as NativeAddon, isas: [] }, 'none'] as const])(
    `${title} — %s`,
    (_label, variant, isa) => {
      const addon = variant.addon;
      const k = addon ? new NativeKernels(addon) : (undefined as unknown as NativeKernels); // undefined only in the skipped placeholder
      let prevIsa = '';
      beforeAll(() => {
        prevIsa = addon.setIsaForTests(isa);
      });
      afterAll(() => {
        addon.setIsaForTests(prevIsa);
      });
      body({ k, addon, isa, generic: <T>(fn: () => T): T => withIsa(addon, 'generic', fn) });
    },
  );
}
