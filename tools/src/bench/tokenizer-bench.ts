#!/usr/bin/env node
/**
 * `npx nx run bitnet-models:bench-tokenizer` — the LLaMA-3 tokenizer (128256 tokens, 280147 merges)
 * read from a GGUF file: JS heap it retains (after gc) and allocates while it is built (garbage
 * included: an engine's main thread builds it at load, and V8 reads a load that allocates a lot as a
 * busy thread, which puts off its memory-reducing collections until requests run), creation time,
 * encode and decode speed.
 *
 * The GGUF holds only the tokenizer metadata (written once to the OS temp folder). Heap is measured
 * in a fresh child process started with --expose-gc; timings are the best of several runs, since
 * other processes on the machine make single runs noisy.
 */
import { execFileSync } from 'node:child_process';
import * as inspector from 'node:inspector/promises';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgufFile, GgufWriter, createTokenizer, gguf, llama3Vocab, type Tokenizer } from '@bitnet/models';

function tokenizerFile(): string {
  const file = path.join(os.tmpdir(), 'bitnet-ts-bench-llama3-tokenizer.gguf');
  if (!fs.existsSync(file)) {
    const v = llama3Vocab({ pre: 'llama-bpe' });
    const w = new GgufWriter();
    w.set('general.architecture', gguf.str('bitnet-b1.58'));
    w.set('tokenizer.ggml.model', gguf.str(v.model));
    w.set('tokenizer.ggml.pre', gguf.str(v.pre ?? 'llama-bpe'));
    w.set('tokenizer.ggml.tokens', gguf.strings(v.tokens));
    w.set('tokenizer.ggml.token_type', gguf.i32s(v.tokenTypes));
    w.set('tokenizer.ggml.merges', gguf.strings(v.merges ?? []));
    w.set('tokenizer.ggml.bos_token_id', gguf.u32(v.bosId));
    w.set('tokenizer.ggml.eos_token_id', gguf.u32(v.eosId));
    w.writeFile(file + '.part');
    fs.renameSync(file + '.part', file);
  }
  return file;
}

function load(file: string): Tokenizer {
  const f = GgufFile.open(file);
  try {
    return createTokenizer(f.metadata);
  } finally {
    f.close();
  }
}

/** Child mode (--expose-gc): heap retained by a tokenizer created from the file, in bytes. */
async function heapChild(file: string): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the heap child with --expose-gc');
  const heap = () => {
    for (let i = 0; i < 4; i++) gc();
    return process.memoryUsage().heapUsed;
  };
  await new Promise((r) => setTimeout(r, 10));
  const before = heap();
  const tok = load(file);
  const created = heap() - before;
  tok.encode(distinctWords(0), { addBos: false });
  const afterEncode = heap() - before;
  const allocated = await allocatedWhile(() => load(file));
  process.stdout.write(JSON.stringify({ created, afterEncode, allocated, vocabSize: tok.vocabSize }));
}

/** Bytes of JS heap objects `fn` allocates, those collected before it returns included (V8's sampling heap profiler, 1 KiB interval). */
async function allocatedWhile(fn: () => unknown): Promise<number> {
  const session = new inspector.Session();
  session.connect();
  try {
    await session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    fn();
    const { profile } = await session.post('HeapProfiler.stopSampling');
    let bytes = 0;
    const walk = (node: inspector.HeapProfiler.SamplingHeapProfileNode): void => {
      bytes += node.selfSize;
      node.children.forEach(walk);
    };
    walk(profile.head);
    return bytes;
  } finally {
    session.disconnect();
  }
}

/** About 100 KB of words that are (nearly) all different: every word goes through BPE. */
function distinctWords(seed: number): string {
  let s = '';
  for (let i = 0; s.length < 100_000; i++) s += `w${((i + seed * 100_003) * 7919).toString(36)}qz${(i + seed).toString(16)}${' Überprüfung'[i % 5]} `;
  return s;
}

/** About 100 KB of mixed prose, code, CJK and emoji (words repeat: mostly cache hits). */
function mixedText(): string {
  const para = "The quick brown fox jumps over the lazy dog. Él está aquí — 北京是中国的首都。 Numbers 12345 and code: for (let i = 0; i < n; i++) { x += y[i]; }\n\tIt's fine, isn't it? 🙂👍🏽 Ünïcödé wörds, ĞİŞ.\n";
  let s = '';
  for (let k = 0; s.length < 100_000; k++) s += para.replace('fox', `fox${k}`);
  return s;
}

function best(runs: number, fn: (run: number) => void): number {
  let min = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn(r);
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--heap-child') return heapChild(process.argv[3]);
  const file = tokenizerFile();
  const heap = JSON.parse(execFileSync(process.execPath, ['--expose-gc', __filename, '--heap-child', file], { encoding: 'utf8' }));
  let tok = load(file);
  const create = best(5, () => (tok = load(file)));
  const mixed = mixedText();
  const ids = tok.encode(mixed, { addBos: false });
  const encDistinct = best(7, (r) => tok.encode(distinctWords(r + 1), { addBos: false }));
  const encMixed = best(7, () => tok.encode(mixed, { addBos: false }));
  const dec = best(7, () => tok.decode(ids));
  const stream = best(7, () => {
    const d = tok.createStreamDecoder();
    for (const id of ids) d.push(id);
    d.flush();
  });
  const mb = (x: number) => `${(x / 2 ** 20).toFixed(2)} MB`;
  console.log(
    [
      '| measurement | value |',
      '|---|---|',
      `| JS heap retained after creation (vocab ${heap.vocabSize}) | ${mb(heap.created)} (target ≤ 8 MB) |`,
      `| JS heap retained after encoding 100 KB of distinct words | ${mb(heap.afterEncode)} |`,
      `| JS heap allocated while opening the file and creating the tokenizer (garbage included) | ${mb(heap.allocated)} |`,
      `| createTokenizer from the GGUF (open + read metadata + build) | ${create.toFixed(0)} ms |`,
      `| encode 100 KB of distinct words (all BPE) | ${encDistinct.toFixed(1)} ms |`,
      `| encode ${Buffer.byteLength(mixed)} B of mixed text (${ids.length} ids) | ${encMixed.toFixed(1)} ms |`,
      `| decode ${ids.length} ids | ${dec.toFixed(1)} ms |`,
      `| stream-decode ${ids.length} ids one by one | ${stream.toFixed(1)} ms |`,
    ].join('\n'),
  );
}

void main();
