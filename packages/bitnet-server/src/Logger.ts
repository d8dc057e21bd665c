import pino from 'pino';
import type { DestinationStream } from 'pino';
import { type LogRecord, type LogSink, logSink, setLogSink } from '@bitnet/inference';

/** The server's --log-level values, least verbose first. */
export const LOG_LEVELS = ['silent', 'error', 'warn', 'info', 'debug'] as const;
/** One of LOG_LEVELS. */
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

/** The engine sinks of the servers running in this process, oldest first, and what was there before them. */
const engineSinks: LogSink[] = [];
let sinkBeforeServers: LogSink | undefined;

/**
 * Routes the engine's module logging (`BITNET_LOG=target=level`, which still decides what the
 * engine emits) into `log`, so that the process writes one stream: each record becomes a pino line
 * with its `target` and fields. `--log-level silent` silences these too. The newest server's logger
 * gets the records; the returned function (called when that server stops) hands them back to the
 * previous server still running, or to whatever sink was in force before any.
 */
export function routeEngineLogs(log: Logger): () => void {
  const engineLog = log.child({}, { level: log.level === 'silent' ? 'silent' : 'trace' });
  const sink: LogSink = (_line: string, r: LogRecord) => {
    engineLog[r.level]({ ...(r.fields ?? {}), target: r.target }, r.message);
  };
  if (engineSinks.length === 0) sinkBeforeServers = logSink();
  engineSinks.push(sink);
  setLogSink(sink);
  return () => {
    const i = engineSinks.indexOf(sink);
    if (i < 0) return;
    engineSinks.splice(i, 1);
    if (logSink() === sink || engineSinks.length === 0) setLogSink(engineSinks[engineSinks.length - 1] ?? sinkBeforeServers);
  };
}
