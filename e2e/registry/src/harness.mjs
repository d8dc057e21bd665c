// Helpers of the private-registry end-to-end test: a throwaway verdaccio, npm run in isolation
// (its own user config, no npm_* variables inherited from whoever started the test), packing and
// publishing the workspace packages, consumer projects in os.tmpdir(), a PATH without cmake.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The five published packages, in dependency order (the server depends on the client: its playground). */
export const PACKAGES = [
  { name: '@bitnet/models', dir: 'packages/bitnet-models' },
  { name: '@bitnet/kernels', dir: 'packages/bitnet-kernels' },
  { name: '@bitnet/inference', dir: 'packages/bitnet-inference' },
  { name: '@bitnet/client', dir: 'packages/bitnet-client' },
  { name: '@bitnet/server', dir: 'packages/bitnet-server' },
];

export function log(line) {
  process.stderr.write(`[e2e ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** A fresh temporary folder outside the repository. */
export function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * The environment a child process gets: this one without npm's own npm_* variables (set when the
 * test runs under `npm run`/`npx`), without BITNET_* settings of the developer or CI, without
 * NODE_OPTIONS, plus `extra`.
 */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|bitnet_)/i.test(k) || k === 'NODE_OPTIONS' || k === 'NODE_PATH' || k === 'INIT_CWD') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/**
 * Runs a command; resolves { code, stdout, stderr, ms } (rejects only when it cannot start or
 * runs past timeoutMs, after killing it). Asynchronous on purpose: verdaccio runs in this process
 * and must keep answering while npm talks to it.
 */
export function run(cmd, args, { cwd, env, timeoutMs = 300_000, input } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(cmd, args, { cwd, env: env ?? cleanEnv(), stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} timed out after ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr, ms: Date.now() - t0 });
    });
    if (child.stdin) {
      // a child that exits without reading its input closes the pipe: that is its exit status's
      // business (reported through 'close'), not a failure of the write
      child.stdin.on('error', () => {});
      child.stdin.end(input);
    }
  });
}

/** Like run, but a non-zero exit is an error that carries the output. */
export async function runOk(cmd, args, opts) {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${opts?.cwd ?? process.cwd()}) exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  }
  return r;
}

/** The npm that runs this test (npm_execpath when started by npm, else `npm` on PATH). */
function npmCommand() {
  const cli = process.env.npm_execpath;
  if (cli && /npm-cli\.js$/.test(cli) && fs.existsSync(cli)) return { cmd: process.execPath, pre: [cli] };
  return { cmd: 'npm', pre: [] };
}

/**
 * npm with its own user config file (so the developer's ~/.npmrc plays no part), no update
 * notifier, no audit or fund requests.
 */
export function npm(args, { cwd, userconfig, env, timeoutMs, ok = true } = {}) {
  const { cmd, pre } = npmCommand();
  const full = [...pre, ...args, '--userconfig', userconfig, '--no-audit', '--no-fund', '--no-update-notifier'];
  return (ok ? runOk : run)(cmd, full, { cwd, env: env ?? cleanEnv(), timeoutMs });
}

/** A free loopback port is picked by listening on port 0. */
function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

function request(url, { method = 'GET', body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(url, { method, headers: { ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(data);
  });
}

/**
 * Starts verdaccio in this process on 127.0.0.1 with a random free port, storage and config in
 * `workDir`. @bitnet/* is served only from its own storage (no uplink: nothing of that scope can
 * come from the public registry) and needs a login to read or publish, as a company registry
 * would; every other package is proxied to the public npm registry. A user is registered through
 * the htpasswd plugin and its token returned.
 */
export async function startRegistry(workDir) {
  const storage = path.join(workDir, 'storage');
  fs.mkdirSync(storage, { recursive: true });
  const configPath = path.join(workDir, 'config.yaml');
  fs.writeFileSync(
    configPath,
    [
      `storage: ${JSON.stringify(storage)}`,
      'auth:',
      '  htpasswd:',
      `    file: ${JSON.stringify(path.join(workDir, 'htpasswd'))}`,
      '    max_users: 1',
      'uplinks:',
      '  npmjs:',
      '    url: https://registry.npmjs.org/',
      '    timeout: 60s',
      'packages:',
      "  '@bitnet/*':",
      '    access: $authenticated',
      '    publish: $authenticated',
      '    unpublish: $authenticated',
      "  '**':",
      '    access: $all',
      '    publish: $authenticated',
      '    proxy: npmjs',
      'server:',
      '  keepAliveTimeout: 60',
      'log: { type: stdout, format: pretty, level: error }',
      'max_body_size: 200mb',
      '',
    ].join('\n'),
  );
  // verdaccio warns that it runs as root; that warning is noise here.
  const emitWarning = process.emitWarning;
  process.emitWarning = (w, ...rest) => (/superuser|under root/i.test(String(w)) ? undefined : emitWarning.call(process, w, ...rest));
  const { runServer } = require('verdaccio');
  const app = await runServer(configPath);
  process.emitWarning = emitWarning;
  const port = await listen(app);
  const url = `http://127.0.0.1:${port}/`;
  const sockets = new Set();
  app.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const user = 'bitnet-e2e';
  const password = `pw-${process.pid}-${Date.now()}`;
  const r = await request(`${url}-/user/org.couchdb.user:${user}`, { method: 'PUT', body: { name: user, password } });
  if (r.status !== 201 && r.status !== 200) throw new Error(`creating the verdaccio user failed: ${r.status} ${r.text}`);
  const token = JSON.parse(r.text).token;
  if (!token) throw new Error(`verdaccio gave no token: ${r.text}`);
  return {
    url,
    port,
    token,
    configPath,
    /** The npmrc lines of a consumer of this registry: the @bitnet scope and its token. */
    scopeNpmrc: `@bitnet:registry=${url}\n//127.0.0.1:${port}/:_authToken=${token}\n`,
    get: (p) => request(`${url}${p.replace(/^\//, '')}`, { headers: { authorization: `Bearer ${token}` } }),
    getAnonymous: (p) => request(`${url}${p.replace(/^\//, '')}`),
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        app.close(() => resolve());
      }),
  };
}

/**
 * Packs one workspace package (its prepack/postpack scripts run, as in `npm publish`) into
 * `outDir`; returns npm's JSON summary (file list and sizes) and the tarball path.
 */
export async function pack(pkgDir, outDir, userconfig) {
  const r = await npm(['pack', '--json', '--pack-destination', outDir], { cwd: path.join(repoRoot, pkgDir), userconfig });
  const start = r.stdout.startsWith('[') ? 0 : r.stdout.indexOf('\n[') + 1; // after any script output
  const json = JSON.parse(r.stdout.slice(start));
  return { ...json[0], tarball: path.join(outDir, json[0].filename) };
}

/** A PATH that finds everything the given PATH finds except cmake (and its companions). */
export function pathWithoutCmake(workDir, pathValue = process.env.PATH ?? '') {
  const bin = path.join(workDir, 'bin-without-cmake');
  fs.mkdirSync(bin, { recursive: true });
  const hidden = /^(cmake|ccmake|cmake-gui|cpack|ctest)(\.exe)?$/i;
  for (const dir of pathValue.split(path.delimiter).filter(Boolean)) {
    let names;
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (hidden.test(name)) continue;
      const link = path.join(bin, name);
      if (fs.existsSync(link)) continue; // the first PATH entry wins, as in a lookup
      try {
        fs.symlinkSync(path.join(dir, name), link);
      } catch {
        // a race with another entry of the same name: keep the first
      }
    }
  }
  return bin;
}

/** A consumer project: a folder outside the repository with a package.json and a .npmrc. */
export function makeConsumer(name, { npmrc, packageJson = {} }) {
  const dir = tempDir(`bitnet-consumer-${name}-`);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true, ...packageJson }, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, '.npmrc'), npmrc);
  const userconfig = path.join(dir, '..', `${path.basename(dir)}.user-npmrc`);
  fs.writeFileSync(userconfig, '');
  return { dir, userconfig };
}

export function rmrf(p) {
  try {
    fs.rmSync(p, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    // best effort
  }
}
