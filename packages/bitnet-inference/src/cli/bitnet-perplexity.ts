/**
 * bitnet-perplexity [--model M] --file TEXT [--window N] [--max-windows N] [--threads N] [--output-q8] [--json]
 * Prints the token count and perplexity of a text file under a model (the bundled default model
 * when --model is omitted). Window scheme: see eval/Perplexity.ts. --output-q8 holds the output matrix
 * as Q8_0 (LoadWeightsOptions.outputType 'q8_0'), to measure what that option costs. --threads sets the
 * kernel threads (default BITNET_THREADS, else one per core).
 */
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { defaultModelPath } from '../engine/DefaultModel';
import { InferenceError } from '../errors/InferenceError';
import { PerplexityEvaluator } from '../eval/Perplexity';

const USAGE = 'usage: bitnet-perplexity [--model M] --file TEXT [--window N] [--max-windows N] [--threads N] [--output-q8] [--json]';

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InferenceError('invalid_config', `--${name} must be a positive integer, got '${v}'`);
  return n;
}

export async function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' }, file: { type: 'string' }, window: { type: 'string' }, 'max-windows': { type: 'string' }, threads: { type: 'string' },
      'output-q8': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    out(USAGE + '\n');
    return 0;
  }
  if (values.file === undefined) throw new InferenceError('invalid_config', `--file is required\n${USAGE}`);
  const text = fs.readFileSync(values.file, 'utf8');
  const model = values.model ?? defaultModelPath();
  const outputType = values['output-q8'] ? 'q8_0' : 'exact';
  const threads = int('threads', values.threads);
  const evaluator = PerplexityEvaluator.load(model, { outputType, ...(threads !== undefined ? { threads } : {}) });
  const r = evaluator.evaluate(text, { window: int('window', values.window), maxWindows: int('max-windows', values['max-windows']) });
  if (values.json) {
    out(JSON.stringify({ model, file: values.file, output_type: evaluator.weights.outputType, tokens: r.tokens, text_tokens: r.textTokens, windows: r.windows, window: r.window, nll: r.nll, perplexity: r.perplexity, seconds: r.seconds }) + '\n');
  } else {
    out(`tokens: ${r.tokens}${r.tokens !== r.textTokens ? ` (of ${r.textTokens})` : ''}\n`);
    out(`windows: ${r.windows} of ${r.window} tokens\n`);
    out(`perplexity: ${r.perplexity.toFixed(4)}\n`);
  }
  return 0;
}
