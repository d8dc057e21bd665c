/**
 * The terminal tools on the bundled model: the chat format it gets (the plain fallback, in-vocabulary
 * tokens only), bitnet-chat driven through streams and through a pipe, and bitnet-generate's
 * progress bar (drawn on a terminal, silent otherwise).
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { applyChatTemplate } from '@bitnet/models';
import { defaultModelPath } from '../engine/DefaultModel';
import { InferenceEngine } from '../engine/InferenceEngine';
import { main as chatMain } from './bitnet-chat';
import { main as generateMain } from './bitnet-generate';
import { ChatSession } from './ChatSession';
import { ProgressBar, progressEnabled } from './ProgressBar';

const bin = (name: string) => path.resolve(__dirname, '../../bin', name);

function sink(isTTY = false): PassThrough & { isTTY: boolean; text: () => string } {
  const s = new PassThrough() as PassThrough & { isTTY: boolean; text: () => string };
  let buf = '';
  s.on('data', (d: Buffer) => (buf += d.toString('utf8')));
  s.isTTY = isTTY;
  s.text = () => buf;
  return s;
}

describe('chat on the bundled model', () => {
  let engine: InferenceEngine;
  beforeAll(async () => {
    engine = await InferenceEngine.load(undefined, { threads: 1 });
  });
  afterAll(() => engine?.close());

  it("reports the plain fallback: the vocabulary has no '<|eot_id|>'", () => {
    expect(engine.tokenizer.tokenId('<|eot_id|>')).toBeUndefined();
    expect(engine.model.chatFormat).toBe('plain');
  });

  it('tokenizes a chat prompt to ordinary in-vocabulary tokens (BOS aside)', () => {
    const session = new ChatSession(engine.tokenizer, engine.model.chatFormat, engine.model.contextLength);
    session.setSystem('Speak as the scriptures do.');
    session.record('Who made the heaven?', ' God made the heaven and the earth.');
    const ids = session.promptFor('And the light?', 32);
    const tok = engine.tokenizer;
    expect(ids[0]).toBe(tok.bosId);
    for (const id of ids.slice(1)) {
      expect(id).toBeGreaterThanOrEqual(0);
      expect(id).toBeLessThan(tok.vocabSize);
      expect(tok.isSpecial(id)).toBe(false);
      expect(tok.tokenType(id)).toBe(1); // normal
    }
    expect(tok.decode(ids, { skipSpecial: true })).toBe(
      applyChatTemplate(
        [
          { role: 'system', content: 'Speak as the scriptures do.' },
          { role: 'user', content: 'Who made the heaven?' },
          { role: 'assistant', content: 'God made the heaven and the earth.' },
          { role: 'user', content: 'And the light?' },
        ],
        'plain',
      ),
    );
    expect(session.stopSequences).toEqual(['\nUser:']);
  });

  it('leaves the oldest turns out of a prompt that would not fit, and /reset and /system start over', () => {
    const session = new ChatSession(engine.tokenizer, 'plain', 40);
    session.record('one two three four five six', 'seven eight nine ten');
    session.record('eleven twelve', 'thirteen');
    const ids = session.promptFor('fourteen', 20);
    expect(ids.length + 20).toBeLessThanOrEqual(40);
    expect(session.messages.map((m) => m.content)).not.toContain('one two three four five six');
    session.setSystem('Be brief.');
    expect(session.messages).toEqual([{ role: 'system', content: 'Be brief.' }]);
    session.record('a', 'b');
    session.reset();
    expect(session.messages).toEqual([{ role: 'system', content: 'Be brief.' }]);
  });
});

describe('bitnet-chat', () => {
  it('answers one turn per piped line, takes /system and /reset, and exits 0 at the end of input', async () => {
    const input = new PassThrough();
    const output = sink();
    const errors = sink();
    input.end('/system Be brief.\nIn the beginning\n/reset\n\nAnd God said\n');
    const code = await chatMain(['--max-tokens', '8', '--threads', '1', '--temperature', '0'], { input, output, errors, interactive: false });
    expect(code).toBe(0);
    const replies = output.text().split('\n').filter((l) => l !== '');
    expect(replies.length).toBeGreaterThanOrEqual(2);
    expect(errors.text()).toBe('');
  }, 60_000);

  it('on a terminal: Ctrl-C stops the current reply and the chat goes on, Ctrl-D exits', async () => {
    const input = new PassThrough() as PassThrough & { isTTY: boolean; setRawMode: (b: boolean) => void };
    input.isTTY = true;
    input.setRawMode = () => undefined;
    const output = sink(true);
    const errors = sink(true);
    // keys are typed on the next turn of the event loop, as a terminal would deliver them
    const type = (keys: string) => setImmediate(() => input.write(keys));
    let chunks = 0;
    let prompts = 0;
    output.on('data', (d: Buffer) => {
      const text = d.toString('utf8');
      if (text === '> ') {
        prompts++;
        if (prompts === 1) type('In the beginning\r');
        if (prompts === 2) type('And God said\r'); // after the stopped reply: the chat goes on
        if (prompts === 3) type('\x04'); // Ctrl-D
      } else if (prompts === 1 && ++chunks === 20) {
        type('\x03'); // Ctrl-C while the first reply streams
      }
    });
    const done = chatMain(['--max-tokens', '200', '--threads', '1', '--temperature', '0'], { input, output, errors, interactive: true });
    expect(await done).toBe(0);
    expect(prompts).toBe(3);
    expect(output.text().match(/\[stopped\]/g)).toHaveLength(1);
    expect(errors.text()).toMatch(/plain chat format/);
  }, 60_000);

  it("`printf 'Hi\\n' | bitnet-chat` answers with the bundled model and exits 0", async () => {
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [bin('bitnet-chat.js'), '--max-tokens', '8', '--seed', '42', '--threads', '1'], { timeout: 60_000, encoding: 'utf8' }, (_e, stdout, stderr) =>
        resolve({ code: child.exitCode, stdout, stderr }),
      );
      child.stdin!.end('Hi\n');
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().length).toBeGreaterThan(0);
  }, 60_000);
});

describe('bitnet-generate progress', () => {
  const model = defaultModelPath();

  it('draws the bytes loaded, then the prompt tokens, on a terminal', async () => {
    const drawn: string[] = [];
    let text = '';
    const code = await generateMain(['--model', model, '--prompt', 'In the beginning God created', '--max-tokens', '2', '--threads', '1'], (s) => (text += s), {
      isTTY: true,
      columns: 80,
      write: (s: string) => drawn.push(s),
    });
    expect(code).toBe(0);
    const all = drawn.join('');
    expect(all).toMatch(/loading \[#+\] 100% [\d.]+ MiB\/[\d.]+ MiB/);
    expect(all).toMatch(/prompt \[#+\] 100% \d+\/\d+ tokens/);
    expect(all.endsWith('\r\x1b[2K')).toBe(true); // cleared before the text
    expect(text).not.toContain('\x1b');
  }, 60_000);

  it('is silent with --json and when the stream is not a terminal', async () => {
    for (const [args, isTTY] of [[['--json'], true], [[], false]] as const) {
      const drawn: string[] = [];
      await generateMain(['--model', model, '--prompt', 'In the beginning', '--max-tokens', '1', '--threads', '1', ...args], () => undefined, { isTTY, write: (s: string) => drawn.push(s) });
      expect(drawn).toEqual([]);
    }
    expect(progressEnabled({ isTTY: true }, { isTTY: true })).toBe(true);
    expect(progressEnabled({ isTTY: false }, { isTTY: true })).toBe(false);
    expect(progressEnabled({ isTTY: true }, { isTTY: true }, true)).toBe(false);
    const off: string[] = [];
    new ProgressBar({ write: (s: string) => off.push(s) }, false).bytes('loading', 1, 2);
    expect(off).toEqual([]);
  }, 60_000);
});

describe('bitnet-generate sampling', () => {
  const model = defaultModelPath();
  const summary = async (args: string[]) => {
    let out = '';
    const code = await generateMain(['--model', model, '--prompt', 'And God said', '--max-tokens', '12', '--threads', '1', '--json', ...args], (s) => (out += s));
    expect(code).toBe(0);
    const { ids, seed, finish_reason } = JSON.parse(out.trim().split('\n').pop()!) as { ids: number[]; seed: number; finish_reason: string };
    return { ids, seed, finish_reason };
  };

  it('draws a random seed unless --seed is given, prints it with --json, and --seed repeats the run', async () => {
    const a = await summary([]);
    const b = await summary([]);
    expect(Number.isInteger(a.seed)).toBe(true);
    expect(a.seed).not.toBe(b.seed);
    const again = await summary(['--seed', String(a.seed)]);
    expect(again).toEqual(a);
    const fixed = await summary(['--seed', '5', '--temperature', '0.7']);
    expect(fixed.seed).toBe(5);
    expect(await summary(['--seed', '5', '--temperature', '0.7'])).toEqual(fixed);
  }, 60_000);

  it('takes the penalty flags (validated by the library)', async () => {
    const greedy = await summary(['--temperature', '0']);
    const penalized = await summary(['--temperature', '0', '--frequency-penalty', '2', '--presence-penalty', '1']);
    expect(penalized.ids).not.toEqual(greedy.ids);
    await expect(summary(['--presence-penalty', '5'])).rejects.toThrow(/presencePenalty: must be between -2 and 2/);
  }, 60_000);
});

