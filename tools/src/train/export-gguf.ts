#!/usr/bin/env node
/**
 * Writes the GGUF of a model trained by tools/train/train.py, with the project's GGUF writer and
 * ternary codecs. The trainer's export.json / export.bin hold the ternary codes and the per-tensor
 * absmean scale γ exactly as its exact evaluation used them; nothing is re-quantized here, so the
 * I2_S file carries the very weights the trainer evaluated (TQ2_0 stores γ as f16 in every block).
 *
 *   node tools/dist/train/export-gguf.js --data /tmp/kjv-train --run /tmp/kjv-run --quant i2_s \
 *       --out packages/bitnet-inference/models/bitnet-kjv.gguf
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { GgmlType, GgufWriter, gguf, quantize, quantizeTernary } from '@bitnet/models';

interface TensorEntry {
  name: string;
  kind: 'f32' | 'trits';
  shape: number[];
  scale?: number;
  offset: number;
  bytes: number;
}

interface ExportJson {
  config: { dim: number; ff: number; layers: number; heads: number; kv_heads: number; vocab: number; ctx: number; rope_base: number; eps: number };
  tensors: TensorEntry[];
  training: Record<string, unknown> & { steps: number; tokens_seen: number; seed: number; split: string; seconds: number; parameters: number };
  eval: Record<string, unknown> & { heldout_ppl: number; heldout_tokens: number; test_ppl: number; test_tokens: number; test_windows: number; window_tokens: number };
}

interface TokenizerJson {
  model: string;
  pre: string;
  tokens: string[];
  token_types: number[];
  merges: string[];
  bos_token_id: number;
  eos_token_id: number;
  add_bos_token: boolean;
}

const USAGE = 'usage: export-gguf --data DATA_DIR --run RUN_DIR --quant i2_s|tq2_0 --out FILE.gguf [--name NAME]';

export const LICENSE_NOTE =
  'Weights trained here on the King James Version (1611/1769) text as distributed in Debian bible-kjv-text. ' +
  'The KJV text is in the public domain everywhere except the United Kingdom, where the Crown\'s letters patent ' +
  'restrict printing; the weights are released under the project license (MIT).';

export function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: { data: { type: 'string' }, run: { type: 'string' }, quant: { type: 'string', default: 'i2_s' }, out: { type: 'string' }, name: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help || !values.data || !values.run || !values.out) {
    process.stdout.write(USAGE + '\n');
    if (!values.help) process.exitCode = 2;
    return;
  }
  const quant = values.quant === 'tq2_0' ? GgmlType.TQ2_0 : values.quant === 'i2_s' ? GgmlType.I2_S : undefined;
  if (quant === undefined) throw new Error(`--quant must be i2_s or tq2_0, got '${values.quant}'`);
  const ex = JSON.parse(fs.readFileSync(path.join(values.run, 'export.json'), 'utf8')) as ExportJson;
  const bin = fs.readFileSync(path.join(values.run, 'export.bin'));
  const tok = JSON.parse(fs.readFileSync(path.join(values.data, 'tokenizer.json'), 'utf8')) as TokenizerJson;
  const c = ex.config;
  const t = ex.training;
  const e = ex.eval;
  const arch = 'bitnet-b1.58';
  const name = values.name ?? `bitnet-b1.58-kjv-${c.dim}x${c.layers}`;

  const w = new GgufWriter();
  w.set('general.architecture', gguf.str(arch));
  w.set('general.name', gguf.str(name));
  w.set('general.license', gguf.str('MIT (weights); training text: King James Version, public domain outside the UK'));
  w.set('general.license.note', gguf.str(LICENSE_NOTE));
  w.set(
    'general.description',
    gguf.str(
      `BitNet b1.58 (ternary absmean weights, 8-bit per-token activations, quantization-aware training) trained from scratch ` +
        `on the King James Bible by tools/train/train.py: ${t.parameters} parameters, ${c.layers} layers, dim ${c.dim}, ` +
        `ff ${c.ff}, ${c.heads} heads / ${c.kv_heads} kv heads, byte-level BPE vocabulary of ${c.vocab} learned from the training text; ` +
        `${t.steps} steps, ${t.tokens_seen} tokens seen, seed ${t.seed}, ${Math.round(t.seconds / 60)} min on one CPU thread. ` +
        `Data split: ${t.split}. Held-out perplexity ${e.heldout_ppl.toFixed(3)} over ${e.heldout_tokens} tokens.`,
    ),
  );
  if (quant === GgmlType.TQ2_0) w.set('general.file_type', gguf.u32(37));
  w.set('general.quantization_version', gguf.u32(2));
  w.set(`${arch}.context_length`, gguf.u32(c.ctx));
  w.set(`${arch}.embedding_length`, gguf.u32(c.dim));
  w.set(`${arch}.block_count`, gguf.u32(c.layers));
  w.set(`${arch}.feed_forward_length`, gguf.u32(c.ff));
  w.set(`${arch}.attention.head_count`, gguf.u32(c.heads));
  w.set(`${arch}.attention.head_count_kv`, gguf.u32(c.kv_heads));
  w.set(`${arch}.rope.freq_base`, gguf.f32(c.rope_base));
  w.set(`${arch}.rope.dimension_count`, gguf.u32(c.dim / c.heads));
  w.set(`${arch}.attention.layer_norm_rms_epsilon`, gguf.f32(c.eps));
  w.set(`${arch}.vocab_size`, gguf.u32(c.vocab));
  w.set('tokenizer.ggml.model', gguf.str(tok.model));
  w.set('tokenizer.ggml.pre', gguf.str(tok.pre));
  w.set('tokenizer.ggml.tokens', gguf.strings(tok.tokens));
  w.set('tokenizer.ggml.token_type', gguf.i32s(tok.token_types));
  w.set('tokenizer.ggml.merges', gguf.strings(tok.merges));
  w.set('tokenizer.ggml.bos_token_id', gguf.u32(tok.bos_token_id));
  w.set('tokenizer.ggml.eos_token_id', gguf.u32(tok.eos_token_id));
  w.set('tokenizer.ggml.add_bos_token', gguf.bool(tok.add_bos_token));
  // training record (custom keys)
  w.set('training.corpus', gguf.str('King James Bible, `bible -f "Gen1:1-Rev22:21"` (Debian bible-kjv), one verse per line, references dropped'));
  w.set('training.split', gguf.str(t.split));
  w.set('training.steps', gguf.u32(t.steps));
  w.set('training.tokens_seen', gguf.u64(t.tokens_seen));
  w.set('training.seed', gguf.u32(t.seed));
  w.set('training.seconds', gguf.f32(t.seconds));
  w.set('training.record', gguf.str(JSON.stringify(t)));
  w.set('training.eval.scheme', gguf.str(String(e.scheme)));
  w.set('training.eval.heldout_ppl', gguf.f64(e.heldout_ppl));
  w.set('training.eval.heldout_tokens', gguf.u32(e.heldout_tokens));
  w.set('training.eval.test_windows', gguf.u32(e.test_windows));
  w.set('training.eval.test_ppl', gguf.f64(e.test_ppl));
  w.set('training.eval.test_tokens', gguf.u32(e.test_tokens));

  const view = (x: TensorEntry): Uint8Array => new Uint8Array(bin.buffer, bin.byteOffset + x.offset, x.bytes);
  for (const x of ex.tensors) {
    const dims = [...x.shape].reverse(); // numpy rows × cols -> ggml ne = [cols, rows]
    const cols = dims[0];
    if (x.kind === 'f32') {
      const f = new Float32Array(view(x).slice().buffer);
      const type = x.name === 'token_embd.weight' ? GgmlType.F16 : GgmlType.F32;
      w.addTensor(x.name, dims, type, type === GgmlType.F32 ? new Uint8Array(f.buffer) : quantize(type, f, cols));
    } else {
      const trits = new Int8Array(view(x).slice().buffer);
      w.addTensor(x.name, dims, quant, quantizeTernary(quant as never, trits, Math.fround(x.scale!), cols));
    }
  }
  fs.mkdirSync(path.dirname(path.resolve(values.out)), { recursive: true });
  w.writeFile(values.out);
  process.stdout.write(`wrote ${values.out} (${fs.statSync(values.out).size} bytes)\n`);
}

if (require.main === module) main(process.argv.slice(2));
