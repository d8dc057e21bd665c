#!/usr/bin/env node
// Builds dist/browser/bitnet-client.mjs: the client as ONE ES module for browsers (the server's
// playground loads it) and for Node's `import`, without a bundler. Each source file is transpiled
// by TypeScript to ES2020 (types erased), the files are joined in dependency order and their
// relative imports dropped (the sources are written for this: no import aliases, no name used in
// two files). Whatever a source file exports, the module exports; src/index.ts only re-exports.
// The result is checked: it must import nothing and export every value src/index.ts exports.
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

const pkg = path.resolve(__dirname, '..');
const ORDER = ['types.ts', 'errors.ts', 'sse.ts', 'BitnetClient.ts'];
const out = path.join(pkg, 'dist', 'browser', 'bitnet-client.mjs');

const srcDir = path.join(pkg, 'src');
const sources = fs.readdirSync(srcDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts') && f !== 'index.ts');
const missing = sources.filter((f) => !ORDER.includes(f));
if (missing.length) throw new Error(`build-browser.js: add ${missing.join(', ')} to ORDER`);

const version = JSON.parse(fs.readFileSync(path.join(pkg, 'package.json'), 'utf8')).version;
const parts = [`// @bitnet/client ${version}: browser ES module, built by scripts/build-browser.js from src/ (do not edit)`];
for (const file of ORDER) {
  const source = fs.readFileSync(path.join(srcDir, file), 'utf8');
  const { outputText, diagnostics } = ts.transpileModule(source, {
    fileName: file,
    reportDiagnostics: true,
    compilerOptions: { module: ts.ModuleKind.ES2020, target: ts.ScriptTarget.ES2022, removeComments: false, sourceMap: false, isolatedModules: true },
  });
  if (diagnostics && diagnostics.length) throw new Error(`${file}: ${ts.flattenDiagnosticMessageText(diagnostics[0].messageText, '\n')}`);
  const body = outputText
    .replace(/^import\s[^;]*?from\s+['"]\.\/[^'"]+['"];\s*$/gm, '')
    .replace(/^export\s*\{\s*\};\s*$/gm, '')
    .trim();
  if (/^\s*import\s/m.test(body) || /\bfrom\s+['"]/.test(body)) throw new Error(`${file}: an import is left after joining`);
  if (body) parts.push(`// ---- src/${file}\n${body}`);
}
const text = parts.join('\n\n') + '\n';

// every value the entry point exports is exported by the module
const index = fs.readFileSync(path.join(srcDir, 'index.ts'), 'utf8');
const wanted = [...index.matchAll(/export\s*\{([^}]*)\}/g)].flatMap((m) => m[1].split(',').map((s) => s.trim()).filter((s) => s && !s.startsWith('type ')));
const exported = new Set([...text.matchAll(/^export\s+(?:class|function|const|let|async function)\s+([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]));
const lost = wanted.filter((n) => !exported.has(n));
if (lost.length) throw new Error(`build-browser.js: the module does not export ${lost.join(', ')}`);

fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, text);
console.log(`wrote ${path.relative(process.cwd(), out)} (${(text.length / 1024).toFixed(1)} kB, exports ${[...exported].join(', ')})`);
