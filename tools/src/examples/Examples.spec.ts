/**
 * The scripts in examples/ run as a user would run them (node, the packages' built dist) on the
 * bundled model, with few tokens so that they stay fast; each must exit 0 and print what it promises.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
const EXAMPLES = path.join(ROOT, 'examples');

function runExample(name: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [path.join(EXAMPLES, name)], {
      cwd: ROOT,
      timeout: 60_000,
      encoding: 'utf8',
      env: { ...process.env, MAX_TOKENS: '5', BITNET_THREADS: '1' },
    }, (_e, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
  });
}

describe('examples/', () => {
  it('holds the scripts this spec runs', () => {
    expect(fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.js')).sort()).toEqual(['chat.js', 'server-stream.js', 'stream-with-ids.js']);
  });

  it('stream-with-ids.js prints one line per token with its id, then the finish reason', async () => {
    const r = await runExample('stream-with-ids.js');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^ +\d+ +id +\d+ +".*"$/gm)).toHaveLength(5);
    expect(r.stdout).toMatch(/^finish: max_tokens$/m);
  }, 60_000);

  it('server-stream.js reads /health (with the chat format) and the token events of /v1/stream', async () => {
    const r = await runExample('server-stream.js');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/chat format: plain/);
    expect(r.stdout.match(/^token +id +\d+ +".*"$/gm)).toHaveLength(5);
    expect(r.stdout).toMatch(/^complete: \{.*"total_tokens":5/m);
  }, 60_000);

  it('chat.js holds a two-turn conversation in the model chat format', async () => {
    const r = await runExample('chat.js');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^chat format: plain$/m);
    expect(r.stdout.match(/^Assistant: .*\[(max_tokens|stop|eos)[^\]]*\]$/gm)).toHaveLength(2);
  }, 60_000);
});
