// End to end through a private npm registry, as a user's company would run it: the four packages
// are packed (prepack copies the native sources into @bitnet/kernels) and published to a throwaway
// verdaccio on 127.0.0.1 (random port, temporary storage, @bitnet/* never proxied to the public
// registry), then installed into fresh projects in os.tmpdir(), outside this repository:
//   - @bitnet/inference alone, build approved: native kernels built at install, generateStream from
//     a plain Node script;
//   - @bitnet/inference with cmake hidden from PATH: installs, says once that it uses the
//     TypeScript kernels, and generates the same tokens;
//   - @bitnet/inference with the build denied (what npm does with unapproved install scripts):
//     TypeScript kernels;
//   - @bitnet/server: the installed bitnet-server with the embedded model, POST /v1/stream;
//   - @bitnet/client in a project of its own: streams from that installed server (require and import).
// Run with `npx nx run e2e-registry:e2e`. Everything it starts is stopped in after()/finally.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PACKAGES, cleanEnv, log, makeConsumer, npm, pack, pathWithoutCmake, repoRoot, rmrf, run, runOk, startRegistry, tempDir } from './harness.mjs';

const require = createRequire(import.meta.url);
const MINUTE = 60_000;
const PROMPT = 'In the beginning';
const MAX_TOKENS = 24;
/** The one command a consumer runs to let npm 11 run @bitnet/kernels' install script (README). */
const APPROVE = ['pkg', 'set', 'allowScripts.@bitnet/kernels=true', '--json'];
const DENY = ['pkg', 'set', 'allowScripts.@bitnet/kernels=false', '--json'];

const readJson = (p) => JSON.parse(fs.readFileSync(p, 'utf8'));
const manifests = Object.fromEntries(PACKAGES.map((p) => [p.name, readJson(path.join(repoRoot, p.dir, 'package.json'))]));
const { DEFAULT_MODEL_FILE } = require(path.join(repoRoot, 'packages/bitnet-inference/dist/engine/DefaultModel.js'));
const bundledModel = path.join(repoRoot, 'packages/bitnet-inference/models', DEFAULT_MODEL_FILE);
/** The bundled model must be in the repository (BITNET_E2E_STAND_IN_MODEL=1 swaps in a synthetic one). */
const bundledModelInRepo = fs.existsSync(bundledModel);
if (!bundledModelInRepo) throw new Error(`the bundled model ${bundledModel} is missing`);
const hasBundledModel = bundledModelInRepo && process.env.BITNET_E2E_STAND_IN_MODEL !== '1';
let modelEnv = {};
const consumerEnv = (extra = {}) => cleanEnv({ ...modelEnv, ...extra });

let work;
let registry;
const packed = {};
const cleanup = [];

before(async () => {
  work = tempDir('bitnet-e2e-registry-');
  if (!hasBundledModel) {
    const stand = path.join(work, 'stand-in-default-model.gguf');
    await runOk(process.execPath, [path.join(repoRoot, 'tools/dist/make-model.js'), '--arch', 'bitnet-b1.58', '--quant', 'i2_s', '--dim', '256', '--ff', '512',
      '--layers', '2', '--heads', '4', '--kv-heads', '2', '--vocab', 'small', '--seed', '1', '--out', stand]);
    modelEnv = { BITNET_DEFAULT_MODEL: stand };
    log(`${bundledModelInRepo ? 'BITNET_E2E_STAND_IN_MODEL=1' : `${bundledModel} is not there`}: the consumers run a synthetic stand-in (BITNET_DEFAULT_MODEL=${stand})`);
  }
  registry = await startRegistry(work);
  log(`verdaccio on ${registry.url} (storage ${path.join(work, 'storage')})`);
  const publisherRc = path.join(work, 'publisher.npmrc');
  fs.writeFileSync(publisherRc, `//127.0.0.1:${registry.port}/:_authToken=${registry.token}\n`);
  for (const p of PACKAGES) {
    const info = await pack(p.dir, work, publisherRc);
    packed[p.name] = info;
    const r = await npm(['publish', info.tarball, '--registry', registry.url, `--@bitnet:registry=${registry.url}`], { cwd: work, userconfig: publisherRc, timeoutMs: 3 * MINUTE });
    log(`published ${info.name}@${info.version}: ${info.entryCount} files, ${(info.size / 1024).toFixed(1)} kB packed, ${(info.unpackedSize / 1024).toFixed(1)} kB unpacked (${r.ms} ms)`);
  }
});

after(async () => {
  for (const fn of cleanup.reverse()) {
    try {
      await fn();
    } catch (e) {
      log(`cleanup: ${e.message}`);
    }
  }
  await registry?.stop();
  if (process.env.BITNET_E2E_KEEP === '1') log(`kept ${work}`);
  else if (work) rmrf(work);
});

/** A consumer project in os.tmpdir() whose .npmrc points the @bitnet scope at the registry. */
function consumer(name, { strict = false } = {}) {
  const c = makeConsumer(name, { npmrc: registry.scopeNpmrc + (strict ? 'strict-allow-scripts=true\n' : '') });
  if (process.env.BITNET_E2E_KEEP !== '1') cleanup.push(() => (rmrf(c.dir), rmrf(c.userconfig)));
  assert.ok(path.relative(repoRoot, c.dir).startsWith('..'), 'the consumer is outside the repository');
  return c;
}

async function install(c, spec, { env } = {}) {
  const r = await npm(['install', spec, '--foreground-scripts'], { cwd: c.dir, userconfig: c.userconfig, env, timeoutMs: 10 * MINUTE });
  log(`npm install ${spec} in ${path.basename(c.dir)}: ${(r.ms / 1000).toFixed(1)} s`);
  return r.stdout + r.stderr;
}

/** Every @bitnet package in the consumer came from the test registry (lock's resolved URLs). */
function assertFromRegistry(c) {
  const lock = readJson(path.join(c.dir, 'package-lock.json'));
  const ours = Object.entries(lock.packages).filter(([k]) => /node_modules\/@bitnet\//.test(k));
  assert.ok(ours.length > 0);
  for (const [k, v] of ours) {
    assert.ok(!v.link, `${k} is not a link`);
    if (v.resolved) assert.ok(v.resolved.startsWith(registry.url), `${k} resolved from ${v.resolved}`);
  }
}

async function runConsumerScript(c, env) {
  const script = path.join(c.dir, 'generate.cjs');
  fs.copyFileSync(new URL('./consumer-generate.cjs', import.meta.url), script);
  const r = await runOk(process.execPath, [script, PROMPT, String(MAX_TOKENS)], { cwd: c.dir, env, timeoutMs: 5 * MINUTE });
  return { ...JSON.parse(r.stdout.trim().split('\n').pop()), stderr: r.stderr };
}

function assertGeneration(out) {
  const { streamed, generated, decoded } = out;
  if (hasBundledModel) assert.ok(out.modelPath.endsWith(path.join('node_modules', '@bitnet', 'inference', 'models', DEFAULT_MODEL_FILE)), out.modelPath);
  else assert.equal(out.modelPath, modelEnv.BITNET_DEFAULT_MODEL);
  assert.ok(streamed.tokenIds.length > 0, 'generated at least one token');
  assert.ok(streamed.tokenIds.length <= MAX_TOKENS);
  assert.ok(streamed.tokenIds.every((id) => Number.isInteger(id) && id >= 0));
  // every id arrives, the texts add up to the decoded ids, and the streamed run equals generate()
  assert.equal(streamed.text, decoded);
  assert.deepEqual(streamed.tokenIds, generated.tokenIds);
  assert.equal(streamed.text, generated.text);
  assert.equal(streamed.finishReason, generated.finishReason);
  assert.ok(streamed.text.length > 0);
}

let nativeRun; // the ids of the native run, for the fallback runs to compare with

/** Whether cmake and a C++ compiler are on PATH (what build-native.js looks for). */
async function machineCanBuild() {
  const ok = async (cmd) => (await run(cmd, ['--version']).catch(() => ({ code: 1 }))).code === 0;
  return (await ok('cmake')) && ((await ok(process.env.CXX || 'c++')) || (await ok('g++')) || (await ok('clang++')));
}

describe('packages on a private registry', () => {
  test('each tarball holds what it needs and nothing else', () => {
    const forbidden = /(\.spec\.|\.test\.|\.crossval\.|\.map$|\.tsbuildinfo$|(^|\/)testing\/|(^|\/)src\/.*\.ts$|jest\.|tsconfig|project\.json$|test-fixtures\/|(^|\/)build\/|\.node$)/;
    for (const p of PACKAGES) {
      const info = packed[p.name];
      const files = info.files.map((f) => f.path);
      const m = manifests[p.name];
      assert.deepEqual(files.filter((f) => forbidden.test(f)), [], `${p.name}: unwanted files`);
      for (const f of [m.main, m.types, ...Object.values(m.bin ?? {})]) assert.ok(files.includes(f.replace(/^\.\//, '')), `${p.name}: ${f} is packed`);
      const models = files.filter((f) => f.endsWith('.gguf'));
      assert.deepEqual(models, p.name === '@bitnet/inference' && bundledModelInRepo ? [`models/${DEFAULT_MODEL_FILE}`] : [], `${p.name}: models`);
      for (const dep of Object.keys(m.dependencies ?? {}).filter((d) => d.startsWith('@bitnet/'))) {
        assert.match(m.dependencies[dep], /^[\^~]?\d+\.\d+\.\d+/, `${p.name} -> ${dep} is a semver range`);
      }
      assert.equal(m.engines?.node, '>=20');
      assert.ok(m.license && m.repository && m.publishConfig, `${p.name}: license, repository, publishConfig`);
    }
    const kernels = packed['@bitnet/kernels'].files.map((f) => f.path);
    for (const f of ['native/CMakeLists.txt', 'native/package.json', 'native/src/binding/addon.cpp', 'scripts/build-native.js']) assert.ok(kernels.includes(f), `kernels ship ${f}`);
    assert.ok(!fs.existsSync(path.join(repoRoot, 'packages/bitnet-kernels/native')), 'postpack removed the copied sources');
    for (const dep of ['cmake-js', 'node-addon-api', 'node-api-headers']) assert.ok(manifests['@bitnet/kernels'].dependencies[dep], `${dep} is a dependency`);
    assert.ok(manifests['@bitnet/kernels'].binary?.napi_versions?.length, 'binary.napi_versions');
  });

  test('the registry serves @bitnet/* from its own storage only, to logged-in users', async () => {
    const anon = await registry.getAnonymous('@bitnet%2finference');
    assert.ok(anon.status === 401 || anon.status === 403, `anonymous read: ${anon.status}`);
    const meta = await registry.get('@bitnet%2finference');
    assert.equal(meta.status, 200);
    const doc = JSON.parse(meta.text);
    assert.ok(doc.versions[manifests['@bitnet/inference'].version].dist.tarball.startsWith(registry.url));
    const missing = await registry.get('@bitnet%2fno-such-package');
    assert.equal(missing.status, 404, 'no uplink for the @bitnet scope');
    // the repository's .npmrc pattern: BITNET_REGISTRY selects the scope's registry, unset it is empty
    const userconfig = path.join(work, 'empty.npmrc');
    fs.writeFileSync(userconfig, '');
    const set = await npm(['config', 'get', '@bitnet:registry'], { cwd: repoRoot, userconfig, env: cleanEnv({ BITNET_REGISTRY: registry.url }) });
    assert.equal(set.stdout.trim(), registry.url);
    const unset = await npm(['config', 'get', '@bitnet:registry'], { cwd: repoRoot, userconfig });
    assert.ok(['', 'undefined'].includes(unset.stdout.trim()), `unset: ${unset.stdout}`);
  });

  test('@bitnet/inference alone, build approved: native kernels built at install, generateStream from a plain Node script', { timeout: 15 * MINUTE }, async () => {
    const c = consumer('inference-native', { strict: true });
    await runOk('npm', [...APPROVE, '--userconfig', c.userconfig], { cwd: c.dir, env: cleanEnv() });
    const out = await install(c, '@bitnet/inference');
    assertFromRegistry(c);
    const res = await runConsumerScript(c, consumerEnv());
    assertGeneration(res);
    if (!(await machineCanBuild())) {
      // this machine has no cmake or no C++ compiler: the approved build says so and falls back
      assert.match(out, /@bitnet\/kernels: native addon not built: .* not found on PATH/);
      assert.equal(res.kernels.name, 'ts');
      log('no cmake or C++ compiler on this machine: the native build could not be checked');
      return;
    }
    assert.match(out, /@bitnet\/kernels: native addon built in/);
    assert.ok(fs.existsSync(path.join(c.dir, 'node_modules/@bitnet/kernels/build/Release/bitnet_kernels.node')));
    assert.equal(res.kernels.name, 'native', JSON.stringify(res.kernels));
    assert.ok(res.kernels.addonPath.startsWith(fs.realpathSync(c.dir)), res.kernels.addonPath);
    log(`native (${res.kernels.isa}): ${JSON.stringify(res.streamed.text)} ids ${res.streamed.tokenIds.join(' ')}`);
    nativeRun = res;
  });

  test('@bitnet/inference without cmake on PATH: installs, says once it uses the TypeScript kernels, same tokens', { timeout: 15 * MINUTE }, async () => {
    const c = consumer('inference-no-cmake', { strict: true });
    const env = consumerEnv({ PATH: pathWithoutCmake(path.join(work, 'no-cmake')) });
    assert.equal((await run('cmake', ['--version'], { env }).catch((e) => ({ code: e.code }))).code, 'ENOENT', 'cmake is hidden');
    await runOk('npm', [...APPROVE, '--userconfig', c.userconfig], { cwd: c.dir, env });
    const out = await install(c, '@bitnet/inference', { env });
    assertFromRegistry(c);
    const notices = out.split('\n').filter((l) => l.startsWith('@bitnet/kernels:'));
    assert.deepEqual(notices.length, 1, out);
    assert.match(notices[0], /native addon not built: cmake .*not found on PATH; the TypeScript kernels will be used/);
    assert.ok(!fs.existsSync(path.join(c.dir, 'node_modules/@bitnet/kernels/build')));
    const res = await runConsumerScript(c, env);
    assertGeneration(res);
    assert.equal(res.kernels.name, 'ts');
    assert.equal(res.stderr.split('\n').filter((l) => l.includes('using the TypeScript kernels')).length >= 1, true, res.stderr);
    if (nativeRun) assert.deepEqual(res.streamed.tokenIds, nativeRun.streamed.tokenIds, 'TypeScript and native kernels give the same greedy tokens');
  });

  test('@bitnet/inference with its install script denied: no build, TypeScript kernels', { timeout: 15 * MINUTE }, async () => {
    const c = consumer('inference-denied', { strict: true });
    await runOk('npm', [...DENY, '--userconfig', c.userconfig], { cwd: c.dir, env: cleanEnv() });
    const out = await install(c, '@bitnet/inference');
    assert.doesNotMatch(out, /@bitnet\/kernels:/, 'the install script did not run');
    assert.ok(!fs.existsSync(path.join(c.dir, 'node_modules/@bitnet/kernels/build')));
    const res = await runConsumerScript(c, consumerEnv());
    assertGeneration(res);
    assert.equal(res.kernels.name, 'ts');
    if (nativeRun) assert.deepEqual(res.streamed.tokenIds, nativeRun.streamed.tokenIds);
  });

  test('@bitnet/server: the installed bitnet-server streams POST /v1/stream with the embedded model', { timeout: 20 * MINUTE }, async () => {
    const c = consumer('server', { strict: true });
    await runOk('npm', [...APPROVE, '--userconfig', c.userconfig], { cwd: c.dir, env: cleanEnv() });
    const out = await install(c, '@bitnet/server');
    assertFromRegistry(c);
    assert.match(out, /@bitnet\/kernels: native addon built in|@bitnet\/kernels: native addon not built/);
    const bin = path.join(c.dir, 'node_modules/.bin/bitnet-server');
    assert.ok(fs.existsSync(bin), 'bitnet-server is linked');
    const server = await startServer(bin, c.dir);
    cleanup.push(() => server.stop());
    try {
      const r = await postSse(`${server.url}/v1/stream`, { prompt: PROMPT, max_tokens: MAX_TOKENS, temperature: 0, seed: 1 });
      assert.equal(r.status, 200, r.body);
      assert.match(r.headers['content-type'] ?? '', /^text\/event-stream/);
      const sid = r.headers['x-stream-id'];
      assert.ok(sid, 'x-stream-id header');
      assert.deepEqual(r.events.map((e) => e.id), r.events.map((_, i) => `${sid}:${i + 1}`), 'event ids count up');
      const tokens = r.events.filter((e) => e.event === 'token').map((e) => JSON.parse(e.data));
      const last = r.events.at(-1);
      assert.equal(last.event, 'complete');
      const complete = JSON.parse(last.data);
      assert.ok(tokens.length > 0 && tokens.length <= MAX_TOKENS);
      assert.ok(tokens.every((t) => Number.isInteger(t.token_id) && typeof t.token === 'string'));
      assert.equal(complete.total_tokens, tokens.length);
      assert.equal(complete.completed_normally, true);
      // the same greedy ids and text as the engine in the same installation
      const res = await runConsumerScript(c, consumerEnv());
      assert.deepEqual(tokens.map((t) => t.token_id), res.generated.tokenIds);
      assert.equal(tokens.map((t) => t.token).join(''), res.generated.text);
      tokens.forEach((t, i) => assert.equal(t.position, res.generated.promptIds.length + i));
      log(`server streamed ${tokens.length} tokens: ${JSON.stringify(tokens.map((t) => t.token).join(''))}`);
      // the playground's files came with the package (the client's browser module with @bitnet/client)
      for (const [file, type] of [['/', /^text\/html/], ['/playground.js', /^text\/javascript/], ['/playground.css', /^text\/css/], ['/playground/bitnet-client.mjs', /^text\/javascript/]]) {
        const page = await fetch(`${server.url}${file}`);
        assert.equal(page.status, 200, `GET ${file}`);
        assert.match(page.headers.get('content-type') ?? '', type);
      }
      // @bitnet/client installed on its own, from the registry, streams from this server
      const cc = consumer('client');
      await install(cc, '@bitnet/client');
      assertFromRegistry(cc);
      const installed = fs.readdirSync(path.join(cc.dir, 'node_modules/@bitnet'));
      assert.deepEqual(installed, ['client'], 'the client pulls in no other @bitnet package');
      const script = (kind) => `
        ${kind === 'cjs' ? "const { BitnetClient, BitnetHttpError } = require('@bitnet/client');" : "import { BitnetClient, BitnetHttpError } from '@bitnet/client';"}
        (async () => {
          const client = new BitnetClient({ baseUrl: process.argv[2] });
          const stream = client.stream({ prompt: ${JSON.stringify(PROMPT)}, max_tokens: ${MAX_TOKENS}, temperature: 0, seed: 1 });
          const ids = [];
          let text = '';
          for await (const p of stream) { ids.push(p.id); text += p.text; }
          const bad = await client.stream({ prompt: '' }).collect().catch((e) => e);
          console.log(JSON.stringify({ ids, text, complete: stream.complete, streamId: stream.streamId, model: (await client.health()).model.id,
            bad: bad instanceof BitnetHttpError ? { status: bad.status, type: bad.type, param: bad.param } : String(bad) }));
        })().catch((e) => { console.error(e); process.exit(1); });`;
      for (const [kind, file] of [['cjs', 'stream.cjs'], ['esm', 'stream.mjs']]) {
        fs.writeFileSync(path.join(cc.dir, file), script(kind));
        const r = await runOk(process.execPath, [file, server.url], { cwd: cc.dir, env: cleanEnv(), timeoutMs: 2 * MINUTE });
        const got = JSON.parse(r.stdout.trim().split('\n').pop());
        assert.deepEqual(got.ids, tokens.map((t) => t.token_id), `${kind}: the client's ids are the server's`);
        assert.equal(got.text, tokens.map((t) => t.token).join(''));
        assert.equal(got.complete.total_tokens, tokens.length);
        assert.ok(got.streamId);
        assert.ok(got.model);
        assert.deepEqual(got.bad, { status: 422, type: 'invalid_request_error', param: 'prompt' });
      }
      log(`@bitnet/client (require and import) streamed the same ${tokens.length} tokens`);
    } finally {
      await server.stop();
    }
  });
});

/** Starts the installed bitnet-server on a free loopback port; resolves once it says where it listens. */
function startServer(bin, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, '--host', '127.0.0.1', '--port', '0', '--log-level', 'warn'], { cwd, env: consumerEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let settled = false;
    const stop = () =>
      new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.once('exit', () => (clearTimeout(kill), done()));
        child.kill('SIGTERM');
      });
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      stop().then(() => reject(new Error(`bitnet-server did not start within 2 minutes:\n${out}`)));
    }, 2 * MINUTE);
    const onData = (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve({ url: m[1].replace(/\/$/, ''), stop, output: () => out });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code, signal) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(new Error(`bitnet-server exited (${code ?? signal}) before listening:\n${out}`));
      }
    });
  });
}

/** POSTs JSON and reads the whole SSE response into events ({ id, event, data }). */
function postSse(url, body) {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body));
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'content-length': data.length } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        const events = [];
        for (const block of text.split(/\r?\n\r?\n/)) {
          const e = { data: [] };
          let any = false;
          for (const line of block.split(/\r?\n/)) {
            if (!line || line.startsWith(':')) continue;
            const i = line.indexOf(':');
            const field = i < 0 ? line : line.slice(0, i);
            const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
            if (field === 'data') e.data.push(value);
            else if (field === 'id' || field === 'event') e[field] = value;
            any = true;
          }
          if (any) events.push({ ...e, data: e.data.join('\n') });
        }
        resolve({ status: res.statusCode, headers: res.headers, body: text, events: events.filter((e) => e.event || e.data) });
      });
    });
    req.setTimeout(5 * MINUTE, () => req.destroy(new Error('POST /v1/stream timed out')));
    req.on('error', reject);
    req.end(data);
  });
}
