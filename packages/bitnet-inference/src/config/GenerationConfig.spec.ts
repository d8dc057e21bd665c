/**
 * The defaults table: the README's "Sampling defaults" section and the code's SAMPLING_DEFAULTS /
 * OPENAI_SAMPLING_DEFAULTS must say the same thing. Also the new options' validation and the seed policy.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../errors/InferenceError';
import { GENERATION_PRESETS, OPENAI_SAMPLING_DEFAULTS, SAMPLING_DEFAULTS, type SamplingOptionName, generationConfig } from './GenerationConfig';

const README = path.resolve(__dirname, '../../../../README.md');

/** The rows of the first Markdown table after `## Sampling defaults`, as arrays of trimmed cells. */
function defaultsTable(markdown: string): string[][] {
  const start = markdown.indexOf('\n## Sampling defaults\n');
  expect(start).toBeGreaterThanOrEqual(0);
  const lines = markdown.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (let i = first; i < lines.length && lines[i].startsWith('|'); i++) {
    rows.push(lines[i].slice(1, lines[i].lastIndexOf('|')).split('|').map((c) => c.trim()));
  }
  return rows;
}

/** A table cell as a value: numbers, `{}`, `random`. */
function cellValue(cell: string): unknown {
  if (cell === 'random') return 'random';
  return JSON.parse(cell);
}

describe('Sampling defaults', () => {
  const [header, separator, ...rows] = defaultsTable(fs.readFileSync(README, 'utf8'));

  it('the README table has one row per option of SAMPLING_DEFAULTS, with the code values', () => {
    expect(separator.every((c) => /^-+$/.test(c))).toBe(true);
    const col = (name: string) => {
      const i = header.indexOf(name);
      expect(i).toBeGreaterThanOrEqual(0);
      return i;
    };
    const option = col('option');
    const library = col('default');
    const openai = col('OpenAI routes');
    const named = rows.map((r) => r[option].replace(/`/g, ''));
    expect(named.sort()).toEqual(Object.keys(SAMPLING_DEFAULTS).sort());
    for (const r of rows) {
      const key = r[option].replace(/`/g, '') as SamplingOptionName;
      expect({ key, value: cellValue(r[library]) }).toEqual({ key, value: SAMPLING_DEFAULTS[key] });
      expect({ key, value: cellValue(r[openai]) }).toEqual({ key, value: OPENAI_SAMPLING_DEFAULTS[key] });
    }
  });

  it('generationConfig() fills every left-out option from the table', () => {
    const c = generationConfig({});
    for (const [key, value] of Object.entries(SAMPLING_DEFAULTS)) {
      if (key === 'seed') continue;
      expect({ key, value: c[key as SamplingOptionName] }).toEqual({ key, value });
    }
  });

  it('no seed: a fresh random one per config; a seed given is kept', () => {
    const seeds = new Set(Array.from({ length: 20 }, () => generationConfig({}).seed));
    expect(seeds.size).toBeGreaterThan(15);
    for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s <= 0xffffffff).toBe(true);
    expect(generationConfig({ seed: 7 }).seed).toBe(7);
    expect(generationConfig({ seed: undefined }).seed).toEqual(expect.any(Number));
  });

  it('presets still apply over the defaults', () => {
    const g = generationConfig({ maxNewTokens: 5 }, 'greedy');
    expect(g).toMatchObject({ ...GENERATION_PRESETS.greedy, maxNewTokens: 5, presencePenalty: 0, frequencyPenalty: 0, logitBias: {} });
    expect(generationConfig({}, 'balanced').repetitionPenalty).toBe(1.1);
  });
});

describe('presencePenalty, frequencyPenalty, logitBias validation', () => {
  const fails = (overrides: object, field: string, message: RegExp) => {
    let err: unknown;
    try {
      generationConfig(overrides);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).field).toBe(field);
    expect((err as Error).message).toMatch(message);
  };

  it('accepts the documented ranges', () => {
    const c = generationConfig({ presencePenalty: -2, frequencyPenalty: 2, logitBias: { 0: -100, 128255: 100, 17: 0.5 } });
    expect(c.logitBias).toEqual({ 0: -100, 128255: 100, 17: 0.5 });
  });

  it.each([
    [{ presencePenalty: 2.5 }, 'presencePenalty', /between -2 and 2/],
    [{ frequencyPenalty: -3 }, 'frequencyPenalty', /between -2 and 2/],
    [{ frequencyPenalty: 'x' }, 'frequencyPenalty', /between -2 and 2/],
    [{ logitBias: [1, 2] }, 'logitBias', /object mapping token ids/],
    [{ logitBias: null }, 'logitBias', /object mapping token ids/],
    [{ logitBias: { abc: 1 } }, 'logitBias', /keys must be token ids/],
    [{ logitBias: { '-1': 1 } }, 'logitBias', /keys must be token ids/],
    [{ logitBias: { 5: 101 } }, 'logitBias', /token 5 must be a number from -100 to 100/],
    [{ logitBias: { 5: '1' } }, 'logitBias', /token 5 must be a number/],
  ])('%j → ConfigError(%s)', (overrides, field, message) => fails(overrides, field, message));

  it('a logitBias of more than 1024 entries → ConfigError(logitBias)', () => {
    fails({ logitBias: Object.fromEntries(Array.from({ length: 1025 }, (_, i) => [i, 1])) }, 'logitBias', /at most 1024 entries/);
  });
});

describe('option errors quote what was passed, briefly', () => {
  it('a huge value in a numeric option is described, not copied into the message', () => {
    const huge = 'x'.repeat(1 << 20);
    for (const [options, field] of [
      [{ temperature: huge }, 'temperature'],
      [{ topP: new Float64Array(1 << 16) }, 'topP'],
      [{ logitBias: { 5: Array.from({ length: 1 << 16 }, () => 1) } }, 'logitBias'],
    ] as const) {
      let error: unknown;
      try {
        generationConfig(options as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).field).toBe(field);
      expect((error as Error).message.length).toBeLessThan(200);
    }
  });
});
