/**
 * bitnet-generate [--model M] --prompt P [--max-tokens N] [--temperature T] [--seed S] [--threads N] [--output-q8] [--json]
 * Streams generated text to stdout (the bundled default model when --model is omitted); with --json one JSON line per token and a summary line.
 * --threads sets the kernel threads (EngineOptions.threads; default BITNET_THREADS, else one per core).
 * --output-q8 holds the output (logits) matrix as Q8_0 (EngineOptions.outputType 'q8_0'): faster decode, slightly inexact logits.
 * On a terminal a progress bar on stderr shows the bytes loaded, then the prompt tokens processed; it is
 * not drawn when stdout or stderr is not a terminal, nor with --json.
 */
import { parseArgs } from 'node:util';
import { InferenceEngine } from '../engine/InferenceEngine';
import { InferenceError } from '../errors/InferenceError';
import { ProgressBar, type ProgressTarget, progressEnabled } from './ProgressBar';

const USAGE = 'usage: bitnet-generate [--model M] --prompt P [--max-tokens N] [--temperature T] [--seed S] [--top-k K] [--top-p P] [--threads N] [--output-q8] [--json]';

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
      model: { type: 'string' }, prompt: { type: 'string' }, 'max-tokens': { type: 'string' }, temperature: { type: 'string' },
      seed: { type: 'string' }, 'top-k': { type: 'string' }, 'top-p': { type: 'string' }, threads: { type: 'string' }, 'output-q8': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    out(USAGE + '\n');
    return 0;
  }
  if (values.prompt === undefined) throw new InferenceError('invalid_config', `--prompt is required\n${USAGE}`);
  const threads = num('threads', values.threads);
  const bar = progress ? new ProgressBar(progress, progress.isTTY === true && !values.json) : new ProgressBar(process.stderr, progressEnabled(process.stdout, process.stderr, values.json));
  const engine = await InferenceEngine.load(values.model, {
    outputType: values['output-q8'] ? 'q8_0' : 'exact',
    ...(threads !== undefined ? { threads } : {}),
    ...(bar.enabled ? { onProgress: (done: number, total: number) => bar.bytes('loading', done, total) } : {}),
  });
  bar.clear();
  try {
    const gen = {
      maxNewTokens: num('max-tokens', values['max-tokens']) ?? 64,
      temperature: num('temperature', values.temperature) ?? 0,
      seed: num('seed', values.seed) ?? 42,
      ...(values['top-k'] !== undefined ? { topK: num('top-k', values['top-k']) } : {}),
      ...(values['top-p'] !== undefined ? { topP: num('top-p', values['top-p']) } : {}),
    };
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
