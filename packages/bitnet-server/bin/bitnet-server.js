#!/usr/bin/env node
// Launcher kept in plain JS so npm can link it before the TypeScript build exists.
'use strict';
try {
  require.resolve('../dist/cli.js');
} catch {
  process.stderr.write('bitnet-server: @bitnet/server is not built yet (run `npm ci` or `npm run build` at the repository root)\n');
  process.exit(1);
}
require('../dist/cli.js').main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`bitnet-server: ${e && e.name}: ${e && e.message}\n`);
    process.exit(1);
  },
);
