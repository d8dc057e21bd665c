#!/usr/bin/env node
// Launcher kept in plain JS so npm can link it before the TypeScript build exists.
'use strict';
let cli;
try {
  cli = require('../dist/cli/bitnet-gguf.js');
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND') {
    process.stderr.write('bitnet-gguf: @bitnet/models is not built yet (run `npm run build` or `npm ci` at the repository root)\n');
    process.exit(1);
  }
  throw e;
}
cli.run(process.argv.slice(2));
