#!/usr/bin/env node
/**
 * Packing helper of @bitnet/kernels. The addon's C++ sources live in the repository's top-level
 * native/ folder; a published package must carry them so that its `install` script
 * (scripts/build-native.js) can build the addon in a consumer's node_modules.
 *
 *   node scripts/copy-native.js        (prepack)  copies ../../native into ./native
 *   node scripts/copy-native.js clean  (postpack) removes ./native again
 *
 * The copy is git-ignored and removed after packing, so the workspace never builds from a stale
 * copy.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const pkgRoot = path.resolve(__dirname, '..');
const from = path.resolve(pkgRoot, '../../native');
const to = path.join(pkgRoot, 'native');

function copyDir(src, dst, rel = '') {
  fs.mkdirSync(dst, { recursive: true });
  let n = 0;
  for (const e of fs.readdirSync(src, { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) n += copyDir(path.join(src, e.name), path.join(dst, e.name), r);
    else if (e.isFile()) {
      fs.copyFileSync(path.join(src, e.name), path.join(dst, e.name));
      n++;
    }
  }
  return n;
}

function main(mode) {
  if (mode === 'clean') {
    if (fs.existsSync(path.join(from, 'CMakeLists.txt'))) fs.rmSync(to, { recursive: true, force: true });
    return 0;
  }
  if (!fs.existsSync(path.join(from, 'CMakeLists.txt'))) {
    // Packing an already-packed copy (no repository around it): keep what is there.
    if (fs.existsSync(path.join(to, 'CMakeLists.txt'))) return 0;
    console.error(`@bitnet/kernels: no native sources at ${from} nor ${to}; refusing to pack without them`);
    return 1;
  }
  fs.rmSync(to, { recursive: true, force: true });
  const n = copyDir(from, to);
  // stderr: `npm pack --json` keeps stdout for its JSON
  console.error(`@bitnet/kernels: copied ${n} native source files into the package (native/)`);
  return 0;
}

process.exitCode = main(process.argv[2]);
