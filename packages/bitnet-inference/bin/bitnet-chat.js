#!/usr/bin/env node
// Launcher kept in plain JS so npm can link it before the TypeScript build exists.
'use strict';
try {
  require.resolve('../dist/cli/bitnet-chat.js');
} catch {
  process.stderr.write('bitnet-chat: @bitnet/inference is not built yet (run `npm ci` or `npm run build` at the repository root)\n');
  process.exit(1);
}
const cli = require('../dist/cli/bitnet-chat.js');
cli.main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e) => {
    process.stderr.write(`bitnet-chat: ${e.name}${e.type ? ` [${e.type}]` : ''}: ${e.message}\n`);
    process.exitCode = 1;
  },
);
