/**
 * Test fixture: what the real llama.cpp (node-llama-cpp's prebuilt CPU build, run in a child process)
 * makes of the tokenizer corpus with the LLaMA-3 vocabulary and of the hand-made SentencePiece
 * vocabulary. Computed live on each test run from GGUF files written by the project's writer:
 * nothing is recorded, so a change in either tokenizer shows up at once.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GgufMetadata, gguf } from '../gguf/GgufMetadata';
import { GgufWriter } from '../gguf/GgufWriter';
import { llama3Metadata } from './llama3Vocab';
import { runLlamaCpp } from './llamaCppOracle';
import { SPM_SAMPLES, spmMetadata } from './spmVocab';
import { tokenizerCorpus } from './tokenizerCorpus';

export interface LlamaCppGolden {
  readonly source: string;
  readonly llama3: {
    readonly texts: string[];
    readonly bos: number | null;
    readonly eos: number | null;
    readonly eot: number | null;
    /** add_bos as llama.cpp resolved it (file has add_bos_token = true) */
    readonly addBos: boolean;
    readonly addBosWithoutPre: boolean;
    /** ids among 128000..128255 that llama.cpp treats as end of generation */
    readonly eogIds: number[];
    /** pre = llama-bpe, special tokens not parsed */
    readonly llamaBpe: number[][];
    /** pre = llama-bpe, special tokens parsed; only for texts containing '<' (keyed by index) */
    readonly llamaBpeSpecial: Record<string, number[]>;
    /** no pre key (llama.cpp's 'default' pre-tokenizer) */
    readonly noPre: number[][];
    /** pre = gpt-2 */
    readonly gpt2: number[][];
    /** llama_detokenize(llamaBpe[i], remove_special = false, unparse_special = true) */
    readonly detokenized: string[];
    /** [unparse_special = true, false] for llamaBpeSpecial[i] */
    readonly detokenizedSpecial: Record<string, [string, string]>;
  };
  readonly spm: {
    readonly texts: string[];
    readonly ids: number[][];
    readonly idsParseSpecial: number[][];
    /** tokenizer.ggml.add_space_prefix = false */
    readonly idsNoPrefix: number[][];
    /** [unparse_special = true, false] of ids[i] */
    readonly detokenized: [string, string][];
  };
}

interface VocabAnswer {
  tokenize: number[][];
  detokenize: string[];
  bos: number | null;
  eos: number | null;
  eot: number | null;
  addBos: boolean;
  eog: number[];
}

/** Tokenizer metadata plus the minimal 'llama' hyper-parameters llama.cpp reads before the vocabulary. */
function vocabOnlyFile(dir: string, name: string, md: GgufMetadata): string {
  const w = new GgufWriter();
  w.set('general.architecture', gguf.str('llama'));
  const hp: [string, number][] = [
    ['block_count', 1],
    ['context_length', 256],
    ['embedding_length', 64],
    ['feed_forward_length', 128],
    ['attention.head_count', 2],
    ['attention.head_count_kv', 2],
    ['rope.dimension_count', 32],
  ];
  for (const [k, v] of hp) w.set(`llama.${k}`, gguf.u32(v));
  w.set('llama.attention.layer_norm_rms_epsilon', gguf.f32(1e-5));
  for (const [k, v] of md.entries()) if (k !== 'general.architecture') w.set(k, v);
  const file = path.join(dir, `${name}.gguf`);
  w.writeFile(file);
  return file;
}

function ask(model: string, request: Record<string, unknown>): VocabAnswer {
  return runLlamaCpp<VocabAnswer>({ op: 'vocab', model, ...request });
}

let cached: LlamaCppGolden | undefined;

/** llama.cpp's answers for the corpus (a few seconds: five vocabulary-only loads in child processes). */
export function llamaCppGolden(): LlamaCppGolden {
  if (cached) return cached;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bitnet-llamacpp-vocab-'));
  try {
    const texts = tokenizerCorpus();
    const specialIdx = texts.map((t, i) => (t.includes('<') ? i : -1)).filter((i) => i >= 0);
    const bpeFile = vocabOnlyFile(dir, 'llama-bpe', llama3Metadata({ pre: 'llama-bpe' }));
    const first = ask(bpeFile, {
      tokenize: [...texts.map((t) => [t, false]), ...specialIdx.map((i) => [texts[i], true])],
      eogFrom: 128000,
      eogTo: 128256,
    });
    const llamaBpe = first.tokenize.slice(0, texts.length);
    const specialIds = first.tokenize.slice(texts.length);
    const llamaBpeSpecial = Object.fromEntries(specialIdx.map((i, j) => [String(i), specialIds[j]]));
    const detok = ask(bpeFile, {
      detokenize: [...llamaBpe.map((ids) => [ids, true]), ...specialIds.flatMap((ids) => [[ids, true], [ids, false]])],
    }).detokenize;
    const noPre = ask(vocabOnlyFile(dir, 'no-pre', llama3Metadata({})), { tokenize: texts.map((t) => [t, false]) });
    const gpt2 = ask(vocabOnlyFile(dir, 'gpt-2', llama3Metadata({ pre: 'gpt-2' })), { tokenize: texts.map((t) => [t, false]) });
    const spmFile = vocabOnlyFile(dir, 'spm', spmMetadata());
    const spm = ask(spmFile, { tokenize: [...SPM_SAMPLES.map((t) => [t, false]), ...SPM_SAMPLES.map((t) => [t, true])] });
    const spmIds = spm.tokenize.slice(0, SPM_SAMPLES.length);
    const spmDetok = ask(spmFile, { detokenize: spmIds.flatMap((ids) => [[ids, true], [ids, false]]) }).detokenize;
    const spmNoPrefix = ask(vocabOnlyFile(dir, 'spm-no-prefix', spmMetadata({ addSpacePrefix: false })), {
      tokenize: SPM_SAMPLES.map((t) => [t, false]),
    });
    cached = {
      source: 'llama.cpp as bundled with node-llama-cpp (live, vocabulary-only models written by GgufWriter)',
      llama3: {
        texts,
        bos: first.bos,
        eos: first.eos,
        eot: first.eot,
        addBos: first.addBos,
        addBosWithoutPre: noPre.addBos,
        eogIds: first.eog,
        llamaBpe,
        llamaBpeSpecial,
        noPre: noPre.tokenize,
        gpt2: gpt2.tokenize,
        detokenized: detok.slice(0, texts.length),
        detokenizedSpecial: Object.fromEntries(
          specialIdx.map((i, j) => [String(i), [detok[texts.length + 2 * j], detok[texts.length + 2 * j + 1]] as [string, string]]),
        ),
      },
      spm: {
        texts: [...SPM_SAMPLES],
        ids: spmIds,
        idsParseSpecial: spm.tokenize.slice(SPM_SAMPLES.length),
        idsNoPrefix: spmNoPrefix.tokenize,
        detokenized: spmIds.map((_, i) => [spmDetok[2 * i], spmDetok[2 * i + 1]] as [string, string]),
      },
    };
    return cached;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
