/**
 * bitnet-generate [--model M] --prompt P [--max-tokens N] [--temperature T] [--seed S] [--top-k K] [--top-p P] [--min-p P]
 *   [--repetition-penalty R] [--presence-penalty X] [--frequency-penalty X] [--threads N] [--output-q8 | --output-screened] [--json]
 * Streams generated text to stdout (the bundled default model when --model is omitted); with --json one JSON line per token and a summary line
 * (which carries the seed).
 * Sampling options left out take the library's SAMPLING_DEFAULTS (the README's "Sampling defaults"); without --seed a
 * random seed is drawn for each run (printed in the --json summary; pass it back with --seed to repeat the run).
 * --threads sets the kernel threads (EngineOptions.threads; default BITNET_THREADS, else one per core).
 * --output-q8 holds the output (logits) matrix as Q8_0 (EngineOptions.outputType 'q8_0'): faster decode, slightly inexact logits.
 * --output-screened keeps the exact output matrix and screens it with an int8 copy (outputType 'screened'): a greedy
 * generation gets the exact tokens, faster.
 * On a terminal a progress bar on stderr shows the bytes loaded, then the prompt tokens processed; it is
 * not drawn when stdout or stderr is not a terminal, nor with --json.
 */
import { parseArgs } from 'node:util';
import { InferenceEngine } from '../engine/InferenceEngine';
import { InferenceError } from '../errors/InferenceError';
import { ProgressBar, type ProgressTarget, progressEnabled } from './ProgressBar';

const USAGE =
  'usage: bitnet-generate [--model M] --prompt P [--max-tokens N] [--temperature T] [--seed S] [--top-k K] [--top-p P] [--min-p P] ' +
  '[--repetition-penalty R] [--presence-penalty X] [--frequency-penalty X] [--threads N] [--output-q8 | --output-screened] [--json]';

/** Sampling flags → GenerationConfig fields (absent flags keep the library's defaults). */
const SAMPLING_FLAGS = {
  temperature: 'temperature',
  seed: 'seed',
  'top-k': 'topK',
  'top-p': 'topP',
  'min-p': 'minP',
  'repetition-penalty': 'repetitionPenalty',
  'presence-penalty': 'presencePenalty',
  'frequency-penalty': 'frequencyPenalty',
} as const;

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InferenceError('invalid_config', `--${name} must be a number, got '${v}'`);
  return n;
}

/**
 * Runs the command with these arguments; resolves to the exit code. `out` receives the generated text
 * (or the JSON lines); `progress` is where the bar is drawn (default stderr, when both streams are terminals).
 */
export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s), progress?: ProgressTarget): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' }, prompt: { type: 'string' }, 'max-tokens': { type: 'string' },
      ...Object.fromEntries(Object.keys(SAMPLING_FLAGS).map((k) => [k, { type: 'string' as const }])),
      threads: { type: 'string' }, 'output-q8': { type: 'boolean' }, 'output-screened': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    out(USAGE + '\n');
    return 0;
  }
  if (values.prompt === undefined) throw new InferenceError('invalid_config', `--prompt is required\n${USAGE}`);
  if (values['output-q8'] && values['output-screened']) throw new InferenceError('invalid_config', `--output-q8 and --output-screened: choose one\n${USAGE}`);
  const threads = num('threads', values.threads);
  const bar = progress ? new ProgressBar(progress, progress.isTTY === true && !values.json) : new ProgressBar(process.stderr, progressEnabled(process.stdout, process.stderr, values.json));
  const engine = await InferenceEngine.load(values.model, {
    outputType: values['output-q8'] ? 'q8_0' : values['output-screened'] ? 'screened' : 'exact',
    ...(threads !== undefined ? { threads } : {}),
    ...(bar.enabled ? { onProgress: (done: number, total: number) => bar.bytes('loading', done, total) } : {}),
  });
  bar.clear();
  try {
    const gen: Record<string, number | undefined> = { maxNewTokens: num('max-tokens', values['max-tokens']) ?? 64 };
    for (const [flag, field] of Object.entries(SAMPLING_FLAGS)) {
      const v = num(flag, (values as Record<string, string | undefined>)[flag]);
      if (v !== undefined) gen[field] = v;
    }
    const promptIds = engine.encodePrompt(values.prompt);
    const onPromptProgress = bar.enabled ? (done: number, total: number) => bar.count('prompt', done, total, 'tokens') : undefined;
    const stream = engine.generateStreamWithConfig(promptIds, gen, { bufferSize: 1, flushIntervalMs: 60_000 }, onPromptProgress ? { onPromptProgress } : {});
    const ids: number[] = [];
    let finish = 'unknown';
    for await (const r of stream) {
      bar.clear();
      for (const id of r.tokenIds) {
        ids.push(id);
        if (values.json) out(JSON.stringify({ token_id: id, text: r.text, position: promptIds.length + ids.length - 1 }) + '\n');
      }
      if (!values.json && r.text) out(r.text);
      if (values.json && r.tokenIds.length === 0 && r.text) out(JSON.stringify({ token_id: null, text: r.text, position: null }) + '\n');
      if (r.finishReason) finish = r.finishReason;
    }
    const t = stream.timings();
    if (values.json) {
      out(
        JSON.stringify({
          prompt_ids: promptIds,
          ids,
          finish_reason: finish,
          seed: stream.seed,
          prefill_tok_s: t.prefillTokensPerSecond,
          decode_tok_s: t.decodeTokensPerSecond,
          output_type: engine.loadInfo.outputType,
          threads: engine.loadInfo.threads,
        }) + '\n',
      );
    } else {
      out('\n');
    }
    return 0;
  } finally {
    await engine.close();
  }
}
