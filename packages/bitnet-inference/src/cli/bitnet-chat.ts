/**
 * bitnet-chat [--model M] [--threads N] [--max-tokens N] [--temperature T] [--seed S]
 *
 * An interactive chat with a model in its chat format (ModelInfo.chatFormat: the model's own template,
 * or the plain "User: …\nAssistant:" fallback when its vocabulary lacks the template's special
 * tokens); the bundled model when --model is omitted. Replies stream as they are generated.
 *   /reset          forget the conversation (the system message stays)
 *   /system TEXT    set the system message and start over (no TEXT: remove it)
 *   Ctrl-C          stop the current reply (at the prompt: a hint; the program goes on)
 *   Ctrl-D          exit
 * With stdin not a terminal, every line is one user turn and the program exits 0 at the end of input.
 * Sampling follows the library's SAMPLING_DEFAULTS (the README's "Sampling defaults"); --temperature
 * overrides it. Without --seed the first reply's seed is random; each later reply uses the next seed.
 */
import * as readline from 'node:readline';
import { parseArgs } from 'node:util';
import { InferenceEngine } from '../engine/InferenceEngine';
import { SAMPLING_DEFAULTS, randomSeed } from '../config/GenerationConfig';
import { InferenceError } from '../errors/InferenceError';
import { ChatSession } from './ChatSession';
import { ProgressBar } from './ProgressBar';

const USAGE = 'usage: bitnet-chat [--model M] [--threads N] [--max-tokens N] [--temperature T] [--seed S]';

/** The streams the chat talks through (the process's own by default). */
export interface ChatIo {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  errors: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Whether the input is a terminal: prompts, line editing, Ctrl-C handled by readline. */
  interactive: boolean;
}

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InferenceError('invalid_config', `--${name} must be a number, got '${v}'`);
  return n;
}

/** Runs the chat; resolves to the exit code once the input ends (Ctrl-D or end of piped input). */
export async function main(argv: string[], io?: ChatIo): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' }, threads: { type: 'string' }, 'max-tokens': { type: 'string' }, temperature: { type: 'string' },
      seed: { type: 'string' }, help: { type: 'boolean' },
    },
  });
  const { input, output, errors, interactive } = io ?? {
    input: process.stdin,
    output: process.stdout,
    errors: process.stderr,
    interactive: process.stdin.isTTY === true,
  };
  if (values.help) {
    output.write(USAGE + '\n');
    return 0;
  }
  const threads = num('threads', values.threads);
  const maxNewTokens = num('max-tokens', values['max-tokens']) ?? 256;
  const temperature = num('temperature', values.temperature) ?? SAMPLING_DEFAULTS.temperature;
  let seed = num('seed', values.seed) ?? randomSeed();
  const bar = new ProgressBar(errors, interactive && output.isTTY === true && errors.isTTY === true);
  const engine = await InferenceEngine.load(values.model, {
    ...(threads !== undefined ? { threads } : {}),
    ...(bar.enabled ? { onProgress: (done: number, total: number) => bar.bytes('loading', done, total) } : {}),
  });
  bar.clear();
  const session = new ChatSession(engine.tokenizer, engine.model.chatFormat, engine.model.contextLength);
  if (interactive) {
    errors.write(`${engine.model.name} (${engine.model.chatFormat} chat format). /reset, /system TEXT; Ctrl-C stops a reply, Ctrl-D exits.\n`);
  }

  const rl = readline.createInterface({ input, output: interactive ? output : undefined, terminal: interactive, prompt: '> ' });
  let current: AbortController | undefined;
  const interrupt = () => {
    if (current) current.abort();
    else if (interactive) {
      output.write('\n(Ctrl-D exits)\n');
      rl.prompt();
    } else {
      rl.close();
    }
  };
  rl.on('SIGINT', interrupt);
  // when stdin is not a terminal, Ctrl-C reaches the process as a signal
  const onSignal = () => interrupt();
  if (!interactive) process.on('SIGINT', onSignal);

  try {
    if (interactive) rl.prompt();
    for await (const raw of rl) {
      const line = raw.trim();
      if (line === '/reset') {
        session.reset();
        if (interactive) errors.write('(conversation cleared)\n');
      } else if (line === '/system' || line.startsWith('/system ')) {
        session.setSystem(line.slice('/system'.length));
        if (interactive) errors.write('(system message set; conversation cleared)\n');
      } else if (line !== '') {
        await reply(line);
      }
      if (interactive) rl.prompt();
    }
  } finally {
    process.off('SIGINT', onSignal);
    rl.close();
    await engine.close();
  }
  if (interactive) output.write('\n');
  return 0;

  async function reply(user: string): Promise<void> {
    current = new AbortController();
    try {
      const promptIds = session.promptFor(user, maxNewTokens);
      const stream = engine.generateStreamWithConfig(
        promptIds,
        { maxNewTokens, temperature, seed: seed++ >>> 0, stopSequences: session.stopSequences },
        { bufferSize: 1, flushIntervalMs: 60_000 },
        { signal: current.signal },
      );
      let text = '';
      let finish = '';
      for await (const r of stream) {
        // the first piece of a plain-format reply carries the space after "Assistant:"
        const shown = text === '' ? r.text.replace(/^[ \t]+/, '') : r.text;
        text += r.text;
        if (shown) output.write(shown);
        if (r.finishReason) finish = r.finishReason;
      }
      output.write(finish === 'cancelled' ? ' [stopped]\n' : '\n');
      session.record(user, text);
    } catch (e) {
      errors.write(`bitnet-chat: ${(e as Error).message}\n`);
    } finally {
      current = undefined;
    }
  }
}
