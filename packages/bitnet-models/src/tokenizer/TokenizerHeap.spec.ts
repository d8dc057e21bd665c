/**
 * The tokenizer of the real LLaMA-3 vocabulary (128256 tokens, 280147 merges) keeps its tables in
 * typed arrays: the JS heap it retains stays within 8 MB, right after it is created from a GGUF file
 * and after encoding text full of distinct words (its word cache included).
 *
 * Measured in a child process started with --expose-gc, on the built package, so that jest's own
 * heap does not blur the numbers.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgufWriter } from '../gguf/GgufWriter';
import { llama3Metadata } from '../testing/llama3Vocab';

const LIMIT_MB = 8;

// Runs in the child: argv = [dist/index.js, model]; prints the heap deltas in bytes as JSON.
const CHILD = `
const { GgufFile, createTokenizer } = require(process.argv[1]);
const heap = () => { for (let i = 0; i < 4; i++) global.gc(); return process.memoryUsage().heapUsed; };
function load(file) {
  const f = GgufFile.open(file);
  try { return createTokenizer(f.metadata); } finally { f.close(); }
}
(async () => {
  await new Promise((r) => setTimeout(r, 10));
  const before = heap();
  const tok = load(process.argv[2]);
  const created = heap() - before;
  let text = '';
  for (let i = 0; text.length < 200000; i++) text += 'w' + (i * 7919).toString(36) + 'q' + i.toString(16) + ' Zebra, ';
  const ids = tok.encode(text, { addBos: false });
  const roundTrip = tok.decode(ids) === text;
  const afterEncode = heap() - before;
  console.log(JSON.stringify({ created, afterEncode, roundTrip, vocabSize: tok.vocabSize, hello: tok.encode(' hello world', { addBos: false }) }));
  globalThis.keep = tok;
})();
`;

describe('tokenizer heap (LLaMA-3 vocabulary)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-tok-heap-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(`retains at most ${LIMIT_MB} MB of JS heap, created from a GGUF and after encoding`, () => {
    // the tokenizer metadata of the released 2B4T GGUF (no tensors are needed)
    const model = path.join(dir, 'llama3-tokenizer.gguf');
    const writer = new GgufWriter();
    for (const [key, value] of llama3Metadata({}).entries()) writer.set(key, value);
    writer.writeFile(model);
    const dist = path.resolve(__dirname, '../../dist/index.js');
    const out = execFileSync(process.execPath, ['--expose-gc', '-e', CHILD, dist, model], { encoding: 'utf8' });
    const r = JSON.parse(out.trim()) as { created: number; afterEncode: number; roundTrip: boolean; vocabSize: number; hello: number[] };
    expect(r.vocabSize).toBe(128256);
    expect(r.hello).toEqual([24748, 1917]);
    expect(r.roundTrip).toBe(true);
    expect(r.created / 2 ** 20).toBeLessThanOrEqual(LIMIT_MB);
    expect(r.afterEncode / 2 ** 20).toBeLessThanOrEqual(LIMIT_MB);
  });
});
