/**
 * The API reference (`npx nx run tools:docs`, TypeDoc over the five packages' entry points, see
 * typedoc.json) builds with no warning: every exported symbol has a TSDoc comment and every {@link}
 * resolves. TypeDoc runs with `--emit none` here, so the check writes nothing.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
const TYPEDOC = path.join(ROOT, 'node_modules/typedoc/bin/typedoc');

function typedoc(args: string[], cwd = ROOT) {
  // plain output: NO_COLOR, and no FORCE_COLOR (Nx sets it; Node then warns that NO_COLOR is ignored)
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.FORCE_COLOR;
  return spawnSync(process.execPath, [TYPEDOC, '--emit', 'none', ...args], { cwd, encoding: 'utf8', timeout: 180_000, env });
}

describe('API reference', () => {
  it('builds from the TSDoc with no undocumented export and no broken link', () => {
    const config = JSON.parse(fs.readFileSync(path.join(ROOT, 'typedoc.json'), 'utf8'));
    expect(config.treatWarningsAsErrors).toBe(true);
    expect(config.validation).toMatchObject({ notDocumented: true, invalidLink: true });
    expect(config.entryPoints).toEqual(['models', 'kernels', 'inference', 'server', 'client'].map((p) => `packages/bitnet-${p}/src/index.ts`));
    const r = typedoc([]);
    expect(r.stdout + r.stderr).not.toMatch(/warning|error/i);
    expect(r.status).toBe(0);
  }, 180_000);

  it('fails on an undocumented export and on a broken link (the same settings on a scratch project)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-typedoc-'));
    try {
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'scratch', version: '0.0.0' }));
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, types: [] }, include: ['index.ts'] }));
      fs.writeFileSync(path.join(dir, 'index.ts'), '/** Documented; see {@link Nowhere}. */\nexport const a = 1;\nexport function b(): number {\n  return 2;\n}\n');
      const r = typedoc(['--entryPoints', 'index.ts', '--tsconfig', 'tsconfig.json', '--disableSources', '--treatWarningsAsErrors', '--validation.notDocumented', '--validation.invalidLink', '--skipErrorChecking'], dir);
      const out = r.stdout + r.stderr;
      expect(r.status).not.toBe(0);
      expect(out).toMatch(/b \(CallSignature\).*does not have any documentation/);
      expect(out).toMatch(/Failed to resolve link to "Nowhere"/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
