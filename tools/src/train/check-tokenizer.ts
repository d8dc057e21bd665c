#!/usr/bin/env node
/**
 * Tokenizer parity: encodes the trainer's texts with @bitnet/models' tokenizer (built from the GGUF's
 * metadata, as the engine does) and compares the ids with those the trainer trained and evaluated on.
 *
 *   node tools/dist/train/check-tokenizer.js --data /tmp/kjv-train --model M.gguf
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { GgufFile, createTokenizer } from '@bitnet/models';

/** int32 little-endian .npy (the trainer's id files). */
function readNpyI32(file: string): Int32Array {
  const b = fs.readFileSync(file);
  const headerLen = b.readUInt16LE(8);
  const header = b.subarray(10, 10 + headerLen).toString('latin1');
  if (!header.includes("'<i4'")) throw new Error(`${file}: expected int32 little-endian, header ${header}`);
  const start = 10 + headerLen;
  return new Int32Array(b.buffer.slice(b.byteOffset + start, b.byteOffset + b.length));
}

function main(): void {
  const { values } = parseArgs({ options: { data: { type: 'string' }, model: { type: 'string' } } });
  if (!values.data || !values.model) throw new Error('usage: check-tokenizer --data DATA_DIR --model M.gguf');
  const file = GgufFile.open(values.model);
  const tok = createTokenizer(file.metadata);
  file.close();
  let bad = 0;
  for (const split of ['heldout', 'train']) {
    const text = fs.readFileSync(path.join(values.data, `${split}.txt`), 'utf8');
    const want = readNpyI32(path.join(values.data, `${split}.ids.npy`));
    const got = tok.encode(text, { addBos: false });
    let first = -1;
    const n = Math.max(got.length, want.length);
    for (let i = 0; i < n && first < 0; i++) if (got[i] !== want[i]) first = i;
    process.stdout.write(`${split}: trainer ${want.length} ids, TypeScript ${got.length} ids, ${first < 0 ? 'identical' : `first difference at ${first}`}\n`);
    if (first >= 0) bad++;
    if (tok.decode(got) !== text) {
      process.stdout.write(`${split}: decode(encode(text)) differs from the text\n`);
      bad++;
    }
  }
  process.exitCode = bad ? 1 : 0;
}

main();
