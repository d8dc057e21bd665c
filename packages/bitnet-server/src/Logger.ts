import pino from 'pino';
import type { DestinationStream } from 'pino';
import { type LogRecord, logSink, setLogSink } from '@bitnet/inference';

/** The server's --log-level values, least verbose first. */
export const LOG_LEVELS = ['silent', 'error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The server's logger: pino, one JSON object per line. */
export type Logger = pino.Logger;

/**
 * A pino logger at `level` writing JSON lines to stderr (stdout carries the CLI's own lines, such as
 * `bitnet-server listening on URL`), or to `destination` when one is given (tests).
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = { level, base: { name: 'bitnet_server', pid: process.pid } };
  return pino(options, destination ?? pino.destination({ dest: 2, sync: true }));
}

/**
 * Routes the engine's module logging (`BITNET_LOG=target=level`, which still decides what the
 * engine emits) into `log`, so that the process writes one stream: each record becomes a pino line
 * with its `target` and fields. `--log-level silent` silences these too. Returns the function that
 * puts the previous sink back (if ours is still the one in force).
 */
export function routeEngineLogs(log: Logger): () => void {
  const engineLog = log.child({}, { level: log.level === 'silent' ? 'silent' : 'trace' });
  const sink = (_line: string, r: LogRecord) => {
    const fields = r.fields ? { ...r.fields } : {};
    engineLog[r.level]({ ...fields, target: r.target }, r.message);
  };
  const previous = setLogSink(sink);
  return () => {
    if (logSink() === sink) setLogSink(previous);
  };
}
