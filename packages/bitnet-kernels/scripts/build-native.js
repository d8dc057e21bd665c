#!/usr/bin/env node
/**
 * Builds the native kernels (../../native in the repository, or the package's own native/ copy once
 * published; C++17, cmake-js + node-addon-api) into build/Release/bitnet_kernels.node. Run by this
 * package's `install` script (so `npm ci` at the root builds it, and so does a consumer's install
 * once npm is allowed to run it) and by the Nx target `bitnet-kernels:build-native`.
 *
 * - No cmake or no C++ compiler on PATH: prints one line and exits 0; @bitnet/kernels then runs on
 *   its TypeScript kernels (and says so once at run time).
 * - BITNET_NATIVE=skip: same, on purpose.
 * - Otherwise a failing build fails (exit 1): a broken native build on a machine that can build is
 *   a bug to see, not to hide. Set BITNET_NATIVE=skip to install without it.
 * - Offline: native/package.json declares `binary.napi_versions`, so cmake-js compiles against the
 *   node-api-headers package instead of downloading Node's headers.
 * - Skips the build when the addon exists and native/, this script and node-addon-api are unchanged
 *   since it was built (a hash in build/native-build.json); BITNET_NATIVE=rebuild forces it.
 * - BITNET_NATIVE_EMU=1 also builds build/Release/bitnet_kernels_avx512emu.node (the AVX-512 kernels
 *   on SIMDe's emulated intrinsics, for testing them on machines without AVX-512).
 */
'use strict';
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const pkgRoot = path.resolve(__dirname, '..');
const nativeDir = findNativeDir();
const outDir = path.join(pkgRoot, 'build');
const addon = path.join(outDir, 'Release', 'bitnet_kernels.node');
const stampFile = path.join(outDir, 'native-build.json');
const PREFIX = '@bitnet/kernels:';

/**
 * Where the C++ sources are: the repository's top-level native/ folder when this package is the
 * workspace packages/bitnet-kernels, otherwise the copy that `npm pack` put in the package
 * (scripts/copy-native.js, run by prepack), as in a consumer's node_modules/@bitnet/kernels.
 */
function findNativeDir() {
  const inNodeModules = pkgRoot.split(path.sep).includes('node_modules');
  const repoNative = path.resolve(pkgRoot, '../../native');
  if (!inNodeModules && fs.existsSync(path.join(repoNative, 'CMakeLists.txt'))) return repoNative;
  return path.join(pkgRoot, 'native');
}

function say(line) {
  console.log(`${PREFIX} ${line}`);
}

function onPath(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

function findCompiler() {
  const candidates = [process.env.CXX, 'c++', 'g++', 'clang++'].filter(Boolean);
  return candidates.find((c) => onPath(c));
}

function resolveFrom(id) {
  try {
    return require.resolve(id, { paths: [pkgRoot] });
  } catch {
    return undefined;
  }
}

function hashInputs(addonApiDir, emu) {
  const h = crypto.createHash('sha256');
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else {
        h.update(path.relative(nativeDir, p));
        h.update(fs.readFileSync(p));
      }
    }
  };
  walk(nativeDir);
  h.update(fs.readFileSync(__filename));
  h.update(addonApiDir);
  h.update(process.version.split('.')[0]);
  h.update(emu ? 'emu' : '');
  return h.digest('hex');
}

function main() {
  const mode = (process.env.BITNET_NATIVE || '').toLowerCase();
  if (mode === 'skip') {
    say('BITNET_NATIVE=skip: native addon not built; the TypeScript kernels will be used');
    return 0;
  }
  if (!fs.existsSync(path.join(nativeDir, 'CMakeLists.txt'))) {
    say(`native sources not found at ${nativeDir}; the TypeScript kernels will be used`);
    return 0;
  }
  const missing = [];
  if (!onPath('cmake')) missing.push('cmake');
  if (!findCompiler()) missing.push('a C++ compiler (c++, g++ or clang++)');
  if (missing.length) {
    say(`native addon not built: ${missing.join(' and ')} not found on PATH; the TypeScript kernels will be used`);
    return 0;
  }
  const cmakeJs = resolveFrom('cmake-js/bin/cmake-js');
  const addonApi = resolveFrom('node-addon-api/package.json');
  if (!cmakeJs || !addonApi) {
    say('native addon not built: cmake-js or node-addon-api is not installed; the TypeScript kernels will be used');
    return 0;
  }
  const addonApiDir = path.dirname(addonApi); // holds napi.h
  const emu = process.env.BITNET_NATIVE_EMU === '1';
  const hash = hashInputs(addonApiDir, emu);
  if (mode !== 'rebuild' && fs.existsSync(addon)) {
    try {
      if (JSON.parse(fs.readFileSync(stampFile, 'utf8')).hash === hash) {
        say(`native addon is up to date (${path.relative(process.cwd(), addon) || addon})`);
        return 0;
      }
    } catch {
      // no stamp: rebuild
    }
  }
  const jobs = Math.max(1, Math.min(os.availableParallelism ? os.availableParallelism() : os.cpus().length, 8));
  const common = [
    '--directory', nativeDir,
    '--out', outDir,
    '--config', 'Release',
    '--parallel', String(jobs),
    `--CDNODE_ADDON_API_DIR=${addonApiDir}`,
    `--CDBITNET_AVX512_EMULATED=${emu ? 'ON' : 'OFF'}`,
  ];
  if (process.env.BITNET_NATIVE_VERBOSE !== '1') common.push('--log-level', 'warn');
  const t0 = Date.now();
  // configure (always: options such as BITNET_AVX512_EMULATED may have changed), then build
  // (incremental: object files of unchanged sources are kept).
  let r;
  for (const command of ['configure', 'build']) {
    r = spawnSync(process.execPath, [cmakeJs, command, ...common], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.error || r.status !== 0) break;
  }
  if (r.error || r.status !== 0 || !fs.existsSync(addon)) {
    process.stderr.write((r.stdout || '') + (r.stderr || ''));
    console.error(
      `${PREFIX} building the native addon failed (${r.error ? r.error.message : `exit ${r.status}`}). ` +
        'Fix the build, or install without it: BITNET_NATIVE=skip npm ci',
    );
    return 1;
  }
  const emuAddon = path.join(outDir, 'Release', 'bitnet_kernels_avx512emu.node');
  if (!emu && fs.existsSync(emuAddon)) fs.rmSync(emuAddon); // a stale test-only addon would be tested
  fs.writeFileSync(stampFile, JSON.stringify({ hash, builtAt: new Date().toISOString() }, null, 2) + '\n');
  say(`native addon built in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${addon}`);
  return 0;
}

process.exitCode = main();
