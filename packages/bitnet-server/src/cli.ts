import { OptionsError, USAGE, parseServerOptions } from './ServerOptions';
import { startServer } from './server';

/** The bitnet-server command: runs until SIGTERM/SIGINT, then shuts down gracefully. Returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let options;
  try {
    options = parseServerOptions(argv);
  } catch (e) {
    if (e instanceof OptionsError) {
      process.stderr.write(`bitnet-server: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  if (options.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  let server;
  try {
    server = await startServer(options);
  } catch (e) {
    const err = e as Error & { type?: string; code?: string };
    process.stderr.write(`bitnet-server: ${err.name}${err.type ? ` [${err.type}]` : ''}${err.code ? ` [${err.code}]` : ''}: ${err.message}\n`);
    return 1;
  }
  // one write, so that a reader of the first line also has the second
  process.stdout.write(`bitnet-server listening on ${server.url}\n${options.playground ? `playground: ${server.url}/\n` : ''}`);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`bitnet-server: ${signal} again, exiting now\n`);
        process.exit(1);
      }
      stopping = true;
      server.close().then(
        () => resolve(0),
        (e) => {
          process.stderr.write(`bitnet-server: shutdown failed: ${(e as Error).message}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
