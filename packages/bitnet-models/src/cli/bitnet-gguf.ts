#!/usr/bin/env node
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { BitnetModelError } from '../errors';
import { GgufFile } from '../gguf/GgufFile';
import { createTokenizer } from '../tokenizer/createTokenizer';
import { describeGguf, formatGgufInfo } from './GgufInfo';

const USAGE = `usage:
  bitnet-gguf info MODEL [--json] [--full]        metadata and tensor table
  bitnet-gguf tokenize MODEL --input STRINGS.json [--bos] [--special]
                                                  token ids of each string (JSON array in, JSON array of arrays out;
                                                  by default no BOS and special-token text is not parsed)`;

class UsageError extends Error {}

export function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): number {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h') {
    out(USAGE + '\n');
    return command ? 0 : 2;
  }
  if (command === 'info') {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { json: { type: 'boolean' }, full: { type: 'boolean' } } });
    const file = GgufFile.open(onePath(positionals), { allowUnsupportedTypes: true });
    try {
      const info = describeGguf(file, { maxArrayItems: values.full ? Infinity : 16 });
      out((values.json ? JSON.stringify(info, null, 2) : formatGgufInfo(info)) + '\n');
    } finally {
      file.close();
    }
    return 0;
  }
  if (command === 'tokenize') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { input: { type: 'string' }, bos: { type: 'boolean' }, special: { type: 'boolean' } },
    });
    if (!values.input) throw new UsageError('tokenize needs --input STRINGS.json');
    let inputs: unknown;
    try {
      inputs = JSON.parse(fs.readFileSync(values.input, 'utf8'));
    } catch (e) {
      throw new UsageError(`cannot read ${values.input} as JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(inputs) || inputs.some((s) => typeof s !== 'string')) throw new UsageError(`${values.input} must hold a JSON array of strings`);
    const file = GgufFile.open(onePath(positionals));
    try {
      const tok = createTokenizer(file.metadata);
      const ids = (inputs as string[]).map((s) => tok.encode(s, { addBos: !!values.bos, parseSpecial: !!values.special }));
      out('[\n' + ids.map((a) => '  ' + JSON.stringify(a)).join(',\n') + '\n]\n');
    } finally {
      file.close();
    }
    return 0;
  }
  throw new UsageError(`unknown command '${command}'`);
}

function onePath(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError(`expected one MODEL path, got ${positionals.length}`);
  return positionals[0];
}

/** Entry point of the `bitnet-gguf` bin: runs main, maps errors to messages and exit codes. */
export function run(argv: string[]): void {
  try {
    process.exitCode = main(argv);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`bitnet-gguf: ${(e as Error).message}\n${USAGE}\n`);
      process.exitCode = 2;
    } else if (e instanceof BitnetModelError) {
      process.stderr.write(`bitnet-gguf: ${e.name} [${e.code}]: ${e.message}\n`);
      process.exitCode = 1;
    } else {
      throw e;
    }
  }
}

if (require.main === module) run(process.argv.slice(2));
