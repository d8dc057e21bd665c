/**
 * Module debug logging in the style of Rust's `env_logger`.
 *
 * The filter comes from `BITNET_LOG` (read once, on the first use of any logger, and again only when
 * `configureLogging()` is called):
 *
 *   BITNET_LOG=bitnet_inference::streaming=debug,bitnet_inference=info
 *
 * - a comma-separated list of directives: `target=level`, a bare `level` (the default for every
 *   target), or a bare `target` (that target at `trace`, as env_logger does);
 * - levels: `off`, `error`, `warn`, `info`, `debug`, `trace` (case-insensitive);
 * - a directive applies to its target and to every target below it in the `::` path
 *   (`bitnet_inference` covers `bitnet_inference::streaming` but not `bitnet_inference_x`); the most
 *   specific (longest) matching target wins; when several directives name the same target the last
 *   one wins;
 * - with no matching directive and no bare level, the level is `warn`;
 * - invalid directives are ignored, each reported once as a `[WARN] bitnet_inference::logging: ...`
 *   line when the spec is configured.
 *
 * Lines go to stderr (or to the sink given to `configureLogging`) as
 *
 *   [DEBUG] bitnet_inference::streaming: message {"json":"fields"}
 *
 * A logger made with `{ plain: true }` leaves the target out (`[DEBUG] Token ID: 5`), the form the
 * streaming example prints; a `format` hook given to `configureLogging` replaces the formatting.
 *
 * Disabled calls cost one integer comparison; guard expensive messages with `log.enabled('debug')`.
 */

export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';
/** A filter level: a LogLevel, or `off`. */
export type LogFilterLevel = LogLevel | 'off';

/** Every log level, most severe first. */
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug', 'trace'];

/** The env variable configureLogging() reads when no spec is given. */
export const LOG_ENV_VAR = 'BITNET_LOG';

/** Fields attached to a message (written as one JSON object after the message). */
export type LogFields = Record<string, unknown>;

/** One log record, as handed to the formatter and the sink. */
export interface LogRecord {
  readonly level: LogLevel;
  readonly target: string;
  readonly message: string;
  readonly fields?: LogFields;
  /** The logger was made with `{ plain: true }`. */
  readonly plain: boolean;
}

/** Receives each enabled record, already formatted as one line (no trailing newline). */
export type LogSink = (line: string, record: LogRecord) => void;
/** Turns a record into the line given to the sink. */
export type LogFormatter = (record: LogRecord) => string;

/** Process-wide logging settings: the filter and where lines go. */
export interface LoggingOptions {
  /** The filter spec; omitted or undefined: the value of BITNET_LOG ('' when unset). */
  spec?: string;
  /** Where lines go; default: process.stderr, one line per record. */
  sink?: LogSink;
  /** How records become lines; default: formatLogRecord. */
  format?: LogFormatter;
}

/** Options of one logger. */
export interface LoggerOptions {
  /** Print lines without the target: `[DEBUG] message`. */
  plain?: boolean;
}

/** A logger for one target; records below the filter's level for that target are dropped. */
export interface Logger {
  readonly target: string;
  /** Whether a message at `level` would be written (use to guard expensive messages). */
  enabled(level: LogLevel): boolean;
  /** Writes a record at the given level. */
  log(level: LogLevel, message: string, fields?: LogFields): void;
  /** Writes an error record. */
  error(message: string, fields?: LogFields): void;
  /** Writes a warning record. */
  warn(message: string, fields?: LogFields): void;
  /** Writes an info record. */
  info(message: string, fields?: LogFields): void;
  /** Writes a debug record. */
  debug(message: string, fields?: LogFields): void;
  /** Writes a trace record. */
  trace(message: string, fields?: LogFields): void;
}

/** One directive of a `BITNET_LOG` spec: a level for a target (or the default level). */
export interface LogDirective {
  /** undefined: the default level (a bare level). */
  readonly target?: string;
  readonly level: LogFilterLevel;
}

/** A `BITNET_LOG` spec, parsed. */
export interface ParsedLogSpec {
  readonly directives: readonly LogDirective[];
  /** Directives that could not be understood (ignored). */
  readonly errors: readonly string[];
}

// Numeric severities: a record is written when its severity <= the target's max severity.
const SEVERITY: Record<LogFilterLevel, number> = { off: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 };
const DEFAULT_LEVEL: LogFilterLevel = 'warn';
const TARGET_RE = /^[A-Za-z_][A-Za-z0-9_-]*(::[A-Za-z_][A-Za-z0-9_-]*)*$/;

function asLevel(s: string): LogFilterLevel | undefined {
  const l = s.trim().toLowerCase();
  return Object.prototype.hasOwnProperty.call(SEVERITY, l) ? (l as LogFilterLevel) : undefined;
}

/** Parse a BITNET_LOG spec; never throws (bad directives are listed in `errors`). */
export function parseLogSpec(spec: string): ParsedLogSpec {
  const directives: LogDirective[] = [];
  const errors: string[] = [];
  for (const raw of spec.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) {
      const level = asLevel(part);
      if (level !== undefined) directives.push({ level });
      else if (TARGET_RE.test(part)) directives.push({ target: part, level: 'trace' });
      else errors.push(`'${part}' is neither a level nor a target`);
      continue;
    }
    const target = part.slice(0, eq).trim();
    const levelText = part.slice(eq + 1).trim();
    const level = asLevel(levelText);
    if (!TARGET_RE.test(target)) errors.push(`'${part}': '${target}' is not a target (names separated by ::)`);
    else if (level === undefined) errors.push(`'${part}': '${levelText}' is not a level (off, error, warn, info, debug, trace)`);
    else directives.push({ target, level });
  }
  return { directives, errors };
}

/** The level in force for `target` under `directives` (most specific target wins; default warn). */
export function levelFor(directives: readonly LogDirective[], target: string): LogFilterLevel {
  let best: LogDirective | undefined;
  let defaultLevel: LogFilterLevel = DEFAULT_LEVEL;
  for (const d of directives) {
    if (d.target === undefined) {
      defaultLevel = d.level;
      continue;
    }
    const covers = target === d.target || target.startsWith(d.target + '::');
    if (covers && (best === undefined || d.target.length >= (best.target as string).length)) best = d;
  }
  return best ? best.level : defaultLevel;
}

function safeJson(fields: LogFields): string {
  try {
    return JSON.stringify(fields, (_k, v: unknown) => {
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Error) return { name: v.name, message: v.message };
      return v;
    });
  } catch {
    return '{"unserializable":true}';
  }
}

/** The default line: `[LEVEL] target: message {fields}` (plain loggers: `[LEVEL] message {fields}`). */
export function formatLogRecord(r: LogRecord): string {
  const head = r.plain ? `[${r.level.toUpperCase()}] ${r.message}` : `[${r.level.toUpperCase()}] ${r.target}: ${r.message}`;
  return r.fields !== undefined && Object.keys(r.fields).length > 0 ? `${head} ${safeJson(r.fields)}` : head;
}

const stderrSink: LogSink = (line) => {
  process.stderr.write(line + '\n');
};

interface LoggingState {
  directives: readonly LogDirective[];
  sink: LogSink;
  format: LogFormatter;
  /** Bumped on every configureLogging(); loggers recompute their level when it changes. */
  version: number;
}

let state: LoggingState | undefined;

function currentState(): LoggingState {
  if (state === undefined) configureLogging();
  return state as LoggingState;
}

/**
 * (Re)configure logging: the filter (from `spec`, or BITNET_LOG when no spec is given), the sink
 * and the formatter. Options left out return to their defaults. A string is shorthand for `{ spec }`.
 * Returns the parsed spec.
 */
export function configureLogging(options: string | LoggingOptions = {}): ParsedLogSpec {
  const o: LoggingOptions = typeof options === 'string' ? { spec: options } : options;
  const spec = o.spec ?? process.env[LOG_ENV_VAR] ?? '';
  const parsed = parseLogSpec(spec);
  state = {
    directives: parsed.directives,
    sink: o.sink ?? stderrSink,
    format: o.format ?? formatLogRecord,
    version: (state?.version ?? 0) + 1,
  };
  if (parsed.errors.length > 0) {
    const self = logger('bitnet_inference::logging');
    for (const e of parsed.errors) self.warn(`ignoring invalid ${LOG_ENV_VAR} directive ${e}`);
  }
  return parsed;
}

/**
 * Points every logger at `sink` (undefined: back to stderr) and keeps the filter and the formatter as
 * they are. A host with its own log stream (the HTTP server's pino logger) uses it so that the
 * process writes one stream. Returns the sink that was in force before.
 */
export function setLogSink(sink?: LogSink): LogSink {
  const s = currentState();
  const previous = s.sink;
  state = { ...s, sink: sink ?? stderrSink };
  return previous;
}

/** The sink records go to now. */
export function logSink(): LogSink {
  return currentState().sink;
}

/** The directives currently in force. */
export function logDirectives(): readonly LogDirective[] {
  return currentState().directives;
}

class TargetLogger implements Logger {
  private version = -1;
  private max = 0;

  constructor(
    readonly target: string,
    private readonly plain: boolean,
  ) {}

  private maxSeverity(): number {
    const s = currentState();
    if (this.version !== s.version) {
      this.max = SEVERITY[levelFor(s.directives, this.target)];
      this.version = s.version;
    }
    return this.max;
  }

  enabled(level: LogLevel): boolean {
    return SEVERITY[level] <= this.maxSeverity();
  }

  log(level: LogLevel, message: string, fields?: LogFields): void {
    if (SEVERITY[level] > this.maxSeverity()) return;
    const s = currentState();
    const record: LogRecord = { level, target: this.target, message, fields, plain: this.plain };
    let line: string;
    try {
      line = s.format(record);
    } catch {
      line = formatLogRecord(record);
    }
    s.sink(line, record);
  }

  error(message: string, fields?: LogFields): void {
    if (1 <= this.maxSeverity()) this.log('error', message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    if (2 <= this.maxSeverity()) this.log('warn', message, fields);
  }
  info(message: string, fields?: LogFields): void {
    if (3 <= this.maxSeverity()) this.log('info', message, fields);
  }
  debug(message: string, fields?: LogFields): void {
    if (4 <= this.maxSeverity()) this.log('debug', message, fields);
  }
  trace(message: string, fields?: LogFields): void {
    if (5 <= this.maxSeverity()) this.log('trace', message, fields);
  }
}

const loggers = new Map<string, Logger>();

/**
 * The logger of `target` (a `::` path such as `bitnet_inference::streaming`). Loggers are cached per
 * target and options, and follow later configureLogging() calls.
 */
export function logger(target: string, options: LoggerOptions = {}): Logger {
  if (!TARGET_RE.test(target)) throw new TypeError(`logger target '${target}' must be names separated by ::`);
  const plain = options.plain ?? false;
  const key = `${plain ? 'p' : 't'}:${target}`;
  let l = loggers.get(key);
  if (l === undefined) {
    l = new TargetLogger(target, plain);
    loggers.set(key, l);
  }
  return l;
}
