/**
 * The repository's structural rules, checked on every test run:
 *  - no import cycles inside or across the packages (type-only imports count: a cycle of types is
 *    still a cycle a reader has to untangle), found by madge over the TypeScript sources;
 *  - imports flow one way, models → kernels → inference → server: no package imports one to its right;
 *  - the client (@bitnet/client) is a layer of its own: it imports no other @bitnet package (the
 *    server may depend on it), and its sources use nothing Node-only (it runs in browsers);
 *  - no source file over 600 lines in native/ or packages/<pkg>/src.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import madge from 'madge';

const ROOT = path.resolve(__dirname, '../../..');
const ORDER = ['models', 'kernels', 'inference', 'server'] as const;
/** Packages that stand alone: they import no other @bitnet package. */
const STANDALONE = ['client'] as const;
const MAX_LINES = 600;

function walk(dir: string, keep: (file: string) => boolean, out: string[] = []): string[] {
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist' && entry.name !== 'build') walk(p, keep, out);
    } else if (keep(p)) {
      out.push(p);
    }
  }
  return out;
}

function sourceRoots(): string[] {
  return [...ORDER, ...STANDALONE].map((name) => path.join(ROOT, 'packages', `bitnet-${name}`, 'src'));
}

describe('repository structure', () => {
  it('has no import cycles in or across packages (type imports included)', async () => {
    const result = await madge(sourceRoots(), {
      baseDir: ROOT,
      fileExtensions: ['ts'],
      tsConfig: path.join(ROOT, 'tsconfig.base.json'),
      detectiveOptions: { ts: { skipTypeImports: false }, tsx: { skipTypeImports: false } },
    });
    const graph = result.obj();
    // madge resolved the packages' own imports: the graph is not trivially empty
    expect(Object.keys(graph).length).toBeGreaterThan(100);
    const crossPackage = Object.values(graph).some((deps) => deps.some((d) => d.includes('bitnet-models/src/index.ts')));
    expect(crossPackage).toBe(true);
    expect(result.circular()).toEqual([]);
  }, 120_000);

  it('keeps imports one-way: no package imports a package to its right', () => {
    const offences: string[] = [];
    ORDER.forEach((name, i) => {
      // the server may use the standalone client; the layers under it may not
      const right = [...ORDER.slice(i + 1), ...(name === 'server' ? [] : STANDALONE)];
      if (right.length === 0) return;
      const pattern = new RegExp(`from\\s+['"]@bitnet/(${right.join('|')})(/[^'"]*)?['"]|require\\(['"]@bitnet/(${right.join('|')})`);
      for (const file of walk(path.join(ROOT, 'packages', `bitnet-${name}`, 'src'), (f) => f.endsWith('.ts'))) {
        const text = fs.readFileSync(file, 'utf8');
        if (pattern.test(text)) offences.push(path.relative(ROOT, file));
      }
    });
    expect(offences).toEqual([]);
  });

  it('keeps the client standalone: no @bitnet import, no Node-only import outside its specs', () => {
    const offences: string[] = [];
    for (const name of STANDALONE) {
      const files = walk(path.join(ROOT, 'packages', `bitnet-${name}`, 'src'), (f) => f.endsWith('.ts'));
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        const text = fs.readFileSync(file, 'utf8');
        if (/from\s+['"]@bitnet\/|require\(['"]@bitnet\//.test(text)) offences.push(`${path.relative(ROOT, file)}: imports a @bitnet package`);
        if (!file.endsWith('.spec.ts') && /from\s+['"]node:|require\(['"]node:|\bprocess\.|\bBuffer\b/.test(text)) offences.push(`${path.relative(ROOT, file)}: Node-only`);
      }
    }
    expect(offences).toEqual([]);
  });

  it(`has no source file over ${MAX_LINES} lines in native/ or packages/*/src`, () => {
    const isSource = (f: string) => /\.(ts|js|mjs|cjs|cpp|cc|c|h|hpp|inl)$/.test(f);
    const files = [...walk(path.join(ROOT, 'native'), isSource), ...sourceRoots().flatMap((d) => walk(d, isSource))];
    expect(files.length).toBeGreaterThan(100);
    const long = files
      .map((f) => ({ file: path.relative(ROOT, f), lines: fs.readFileSync(f, 'utf8').split('\n').length }))
      .filter((f) => f.lines > MAX_LINES);
    expect(long).toEqual([]);
  });
});
