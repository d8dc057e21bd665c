import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Path of the node-llama-cpp oracle script (tools/oracles, outside the published packages). */
export const ORACLE_SCRIPT = path.resolve(__dirname, '../../../../tools/oracles/llama-cpp-oracle.mjs');

/** Runs one request through llama.cpp (node-llama-cpp) in a child process and returns its JSON answer. */
export function runLlamaCpp<T>(request: Record<string, unknown>, timeoutMs = 300_000): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llama-oracle-'));
  const reqFile = path.join(dir, 'request.json');
  try {
    fs.writeFileSync(reqFile, JSON.stringify(request));
    const out = execFileSync(process.execPath, [ORACLE_SCRIPT, reqFile], {
      encoding: 'utf8',
      timeout: timeoutMs,
      maxBuffer: 256 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return JSON.parse(out) as T;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** llama.cpp's token ids for each input (no BOS; special-token text parsed only when asked). */
export function llamaCppTokenize(model: string, inputs: string[], special = false): number[][] {
  return runLlamaCpp<{ ids: number[][] }>({ op: 'tokenize', model, inputs, special }).ids;
}
