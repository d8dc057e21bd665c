#!/usr/bin/env node
// The registry this project installs from carries only some of node-llama-cpp's per-platform optional
// packages (no macOS/Windows/riscv builds). `npm install` then leaves them out of package-lock.json and
// `npm ci` refuses the lock as out of sync. This adds a lock entry for each missing optional
// dependency, with the os/cpu its name implies, so npm ci skips it as a platform mismatch.
// Run after any `npm install` that rewrites the lock:  node tools/scripts/fix-lock-optional.js
const fs = require('node:fs');
const path = require('node:path');

const lockPath = path.resolve(__dirname, '../../package-lock.json');
const lock = JSON.parse(fs.readFileSync(lockPath, 'utf8'));
const OS = { mac: 'darwin', win: 'win32', linux: 'linux' };
const CPU = { x64: 'x64', arm64: 'arm64', armv7l: 'arm', riscv64: 'riscv64' };
let added = 0;
for (const [key, entry] of Object.entries(lock.packages)) {
  for (const [dep, range] of Object.entries(entry.optionalDependencies ?? {})) {
    const depKey = `node_modules/${dep}`;
    if (lock.packages[depKey] || lock.packages[`${key}/node_modules/${dep}`]) continue;
    const m = /-(linux|mac|win)-(x64|arm64|armv7l|riscv64)/.exec(dep);
    lock.packages[depKey] = {
      version: range.replace(/^[\^~]/, ''),
      optional: true,
      os: [m ? OS[m[1]] : 'none'],
      cpu: [m ? CPU[m[2]] : 'none'],
    };
    added++;
  }
}
const sorted = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
lock.packages = sorted;
fs.writeFileSync(lockPath, JSON.stringify(lock, null, 2) + '\n');
console.log(`fix-lock-optional: added ${added} missing optional platform entries`);
