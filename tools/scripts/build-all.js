#!/usr/bin/env node
// Builds every package (in dependency order) and the tools, so that bins such as `npx bitnet-gguf`
// work right after `npm ci`. Run by the root package's `prepare` script.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '../..');
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
const projects = [
  'packages/bitnet-models/tsconfig.lib.json',
  'packages/bitnet-kernels/tsconfig.lib.json',
  'packages/bitnet-inference/tsconfig.lib.json',
  'packages/bitnet-client/tsconfig.lib.json',
  'packages/bitnet-server/tsconfig.lib.json',
  'tools/tsconfig.json',
];
for (const p of projects) {
  execFileSync(process.execPath, [tsc, '-p', p], { cwd: root, stdio: 'inherit' });
}
// the client's browser ES module (served by the server's playground)
execFileSync(process.execPath, [path.join(root, 'packages/bitnet-client/scripts/build-browser.js')], { cwd: root, stdio: 'inherit' });

// tsc does not set the executable bit; keep every declared bin executable.
const fs = require('node:fs');
for (const dir of ['packages/bitnet-models', 'packages/bitnet-kernels', 'packages/bitnet-inference', 'packages/bitnet-server']) {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, dir, 'package.json'), 'utf8'));
  for (const rel of Object.values(pkg.bin ?? {})) {
    const file = path.join(root, dir, rel);
    if (fs.existsSync(file)) fs.chmodSync(file, 0o755);
  }
}
