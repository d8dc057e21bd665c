/**
 * The tokenizer of the real LLaMA-3 vocabulary (128256 tokens, 280147 merges) keeps its tables in
 * typed arrays: the JS heap it retains stays within 8 MB, right after it is created from a GGUF file
 * and after encoding text full of distinct words (its word cache included). Reading the file's header
 * does not cost JS heap either: with the file still open (its metadata alive, the token texts and
 * merges packed as UTF-8) and the tokenizer built, the heap has grown by at most 8 MB, where holding
 * those ~400k texts as JS strings (what the reader used to keep) takes more than that.
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
  const open = GgufFile.open(process.argv[2]);
  const openTok = createTokenizer(open.metadata);
  const headerAndTokenizer = heap() - before;
  const plain = [open.metadata.getStringArray('tokenizer.ggml.tokens'), open.metadata.getStringArray('tokenizer.ggml.merges')];
  const plainArrays = heap() - before - headerAndTokenizer;
  open.close();
  globalThis.held = [open, openTok, plain];
  globalThis.held = undefined;
  const before2 = heap();
  const tok = load(process.argv[2]);
  const created = heap() - before2;
  let text = '';
  for (let i = 0; text.length < 200000; i++) text += 'w' + (i * 7919).toString(36) + 'q' + i.toString(16) + ' Zebra, ';
  const ids = tok.encode(text, { addBos: false });
  const roundTrip = tok.decode(ids) === text;
  const afterEncode = heap() - before2;
  console.log(JSON.stringify({ headerAndTokenizer, plainArrays, created, afterEncode, roundTrip, vocabSize: tok.vocabSize, hello: tok.encode(' hello world', { addBos: false }) }));
  globalThis.keep = tok;
})();
`;

describe('tokenizer heap (LLaMA-3 vocabulary)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-tok-heap-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it(`retains at most ${LIMIT_MB} MB of JS heap, header included, created from a GGUF and after encoding`, () => {
    // the tokenizer metadata of the released 2B4T GGUF (no tensors are needed)
    const model = path.join(dir, 'llama3-tokenizer.gguf');
    const writer = new GgufWriter();
    for (const [key, value] of llama3Metadata({}).entries()) writer.set(key, value);
    writer.writeFile(model);
    const dist = path.resolve(__dirname, '../../dist/index.js');
    const out = execFileSync(process.execPath, ['--expose-gc', '-e', CHILD, dist, model], { encoding: 'utf8' });
    const r = JSON.parse(out.trim()) as { headerAndTokenizer: number; plainArrays: number; created: number; afterEncode: number; roundTrip: boolean; vocabSize: number; hello: number[] };
    expect(r.vocabSize).toBe(128256);
    expect(r.hello).toEqual([24748, 1917]);
    expect(r.roundTrip).toBe(true);
    // the header's string arrays stay packed: only the plain copies (the control) cost heap
    expect(r.headerAndTokenizer / 2 ** 20).toBeLessThanOrEqual(LIMIT_MB);
    expect(r.plainArrays / 2 ** 20).toBeGreaterThan(LIMIT_MB);
    expect(r.created / 2 ** 20).toBeLessThanOrEqual(LIMIT_MB);
    expect(r.afterEncode / 2 ** 20).toBeLessThanOrEqual(LIMIT_MB);
  });
});
