/**
 * Command line of the inference bench (pure: no I/O, so the spec can check every error message).
 */
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * 'ours-q8': our engine with outputType 'q8_0' (the optional lower-precision output matrix);
 * 'ours-screened': with outputType 'screened' (the exact matrix plus an int8 screen for greedy rows).
 */
export type Engine = 'ours' | 'ours-q8' | 'ours-screened' | 'llama';
export type ModelType = 'i2_s' | 'tq2_0' | 'tq1_0';

export const ENGINES: readonly Engine[] = ['ours', 'ours-q8', 'ours-screened', 'llama'];
/** Measured when --engines is not given. */
export const DEFAULT_ENGINES: readonly Engine[] = ['ours', 'ours-q8', 'ours-screened', 'llama'];
export const MODEL_TYPES: readonly ModelType[] = ['i2_s', 'tq2_0', 'tq1_0'];

/** How much work one measurement does; `--quick` shrinks it to check the harness. */
export interface Workload {
  /** Prompt length of the single-stream run (prefill, TTFT). */
  promptTokens: number;
  /** New tokens of the single-stream run (the first one ends the prefill; the rest time decode). */
  newTokens: number;
  /** Prompt length of each concurrent stream. */
  streamPromptTokens: number;
  /** New tokens of each concurrent stream. */
  streamNewTokens: number;
  /** Concurrency levels of the aggregate runs. */
  streamCounts: number[];
  /** Positions the long-context sequence fills: its prompt is this minus longNewTokens. */
  longContextTokens: number;
  /** New tokens of the long-context sequence (greedy). */
  longNewTokens: number;
  /**
   * The multi-turn chat (issue 18): turns; turn 1's prompt length; the ids each later turn adds after
   * the previous reply (the user's message with its template); new tokens per reply.
   */
  chat: { turns: number; firstPromptTokens: number; userTokens: number; replyTokens: number };
}

export const FULL_WORKLOAD: Workload = { promptTokens: 256, newTokens: 64, streamPromptTokens: 32, streamNewTokens: 64, streamCounts: [4, 8], longContextTokens: 4096, longNewTokens: 64, chat: { turns: 6, firstPromptTokens: 172, userTokens: 110, replyTokens: 24 } };
export const QUICK_WORKLOAD: Workload = { promptTokens: 32, newTokens: 8, streamPromptTokens: 8, streamNewTokens: 8, streamCounts: [4, 8], longContextTokens: 512, longNewTokens: 16, chat: { turns: 3, firstPromptTokens: 24, userTokens: 12, replyTokens: 4 } };

/** Which engines run the long-context sequence: ours only (default), every engine, or none. */
export type LongContextEngines = 'ours' | 'all' | 'none';

export interface BenchOptions {
  quick: boolean;
  engines: Engine[];
  types: ModelType[];
  /** Where the 2B4T-shaped models are made and kept. */
  dir: string;
  /** Use the older /tmp/bitnet-ts-bench-2b4t-<type>.gguf files (I2_S, TQ2_0) when present. */
  tmpModels: boolean;
  /** Write tools/bench/results/inference-bench.{md,json,png}. */
  output: boolean;
  /** Threads of both engines. */
  threads: number;
  /** EngineOptions.computeNice of our engine (undefined: the engine's default). */
  computeNice?: number;
  /** Who runs the long-context sequence (--long-context-llama: 'all'; --no-long-context: 'none'). */
  longContext: LongContextEngines;
  help: boolean;
}

export const USAGE = `usage: inference-bench [--quick] [--engines ours,ours-q8,ours-screened,llama] [--types i2_s,tq2_0,tq1_0] [--dir DIR]
                       [--tmp-models] [--threads N] [--compute-nice N] [--long-context-llama | --no-long-context]
                       [--no-output]

  --quick        fewer tokens (checks the harness; the numbers mean little)
  --engines      which engines to measure (default all four; ours-q8 = ours with the optional Q8_0 output
                 matrix, ours-screened = ours with the exact output matrix screened by an int8 copy)
  --types        which model files (default i2_s,tq2_0,tq1_0; llama.cpp cannot load I2_S and skips it)
  --dir          where the ~1.2 GB models are made and reused (default $BITNET_BENCH_DIR or <tmpdir>/bitnet-ts-bench)
  --tmp-models   reuse /tmp/bitnet-ts-bench-2b4t-{i2_s,tq2_0}.gguf of an earlier models bench if their header matches
  --threads      compute threads of both engines (default 2)
  --compute-nice our engine's computeNice (0..19; default: the engine's default, 5)
  --long-context-llama  also run the long-context sequence (a prompt filling the 4096-token context
                 minus 64, then 64 new tokens; 512 with --quick) on llama.cpp (default: ours only)
  --no-long-context     skip the long-context sequence (the private-memory target is then not measured)
  --no-output    print the table only; do not write tools/bench/results/inference-bench.*`;

export class UsageError extends Error {}

function list<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const items = value.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s.length > 0);
  if (items.length === 0) throw new UsageError(`${flag} needs at least one of ${allowed.join(', ')}`);
  for (const item of items) {
    if (!allowed.includes(item as T)) throw new UsageError(`${flag}: unknown value '${item}' (expected one of ${allowed.join(', ')})`);
  }
  // keep the canonical order, drop repeats
  return allowed.filter((a) => items.includes(a));
}

/** Parses argv (without node and the script); throws UsageError with a clear message on bad input. */
export function parseBenchArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const o: BenchOptions = {
    quick: false,
    engines: [...DEFAULT_ENGINES],
    types: [...MODEL_TYPES],
    dir: env.BITNET_BENCH_DIR || path.join(os.tmpdir(), 'bitnet-ts-bench'),
    tmpModels: false,
    output: true,
    threads: 2,
    computeNice: undefined,
    longContext: 'ours',
    help: false,
  };
  let longFlag: string | undefined;
  const setLong = (flag: string, value: LongContextEngines) => {
    if (longFlag !== undefined && longFlag !== flag) throw new UsageError(`${longFlag} and ${flag} exclude each other`);
    longFlag = flag;
    o.longContext = value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
      i++;
      return v;
    };
    const noValue = () => {
      if (inline !== undefined) throw new UsageError(`${flag} takes no value`);
    };
    switch (flag) {
      case '--quick':
        noValue();
        o.quick = true;
        break;
      case '--engines':
        o.engines = list('--engines', value(), ENGINES);
        break;
      case '--types':
        o.types = list('--types', value(), MODEL_TYPES);
        break;
      case '--dir': {
        const d = value();
        if (d.trim() === '') throw new UsageError('--dir must not be empty');
        o.dir = path.resolve(d);
        break;
      }
      case '--tmp-models':
        noValue();
        o.tmpModels = true;
        break;
      case '--threads': {
        const v = value();
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 256) throw new UsageError(`--threads must be an integer from 1 to 256, got '${v}'`);
        o.threads = n;
        break;
      }
      case '--compute-nice': {
        const v = value();
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 19) throw new UsageError(`--compute-nice must be an integer from 0 to 19, got '${v}'`);
        o.computeNice = n;
        break;
      }
      case '--long-context-llama':
        noValue();
        setLong(flag, 'all');
        break;
      case '--no-long-context':
        noValue();
        setLong(flag, 'none');
        break;
      case '--no-output':
        noValue();
        o.output = false;
        break;
      case '--help':
      case '-h':
        o.help = true;
        break;
      default:
        throw new UsageError(`unknown argument '${arg}'`);
    }
  }
  if (o.engines.length === 1 && o.engines[0] === 'llama' && o.types.length === 1 && o.types[0] === 'i2_s') {
    throw new UsageError('llama.cpp cannot load I2_S: with --engines llama pick --types tq2_0 and/or tq1_0');
  }
  return o;
}
