/**
 * Test support: a throwaway redis-server (Debian's /usr/bin/redis-server) on a free port of
 * 127.0.0.1, without persistence, in a temporary directory. It can be stopped and started again on
 * the same port to play a Redis outage (it comes back empty, like a restart without persistence).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running test Redis. */
export interface TestRedis {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Its working directory (removed by {@link TestRedis.stop}). */
  dir: string;
  /** Stops the server (SIGTERM, waits for its exit); it can be started again with {@link TestRedis.start}. */
  kill(): Promise<void>;
  /** Starts the server again on the same port (empty: nothing is persisted). */
  start(): Promise<void>;
  /** Kill then start. */
  restart(): Promise<void>;
  /** Stops the server for good and removes its directory. */
  stop(): Promise<void>;
}

/** A free TCP port of 127.0.0.1 (bound to port 0, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Sends PING on a fresh connection; true when +PONG comes back within `ms`. */
function ping(port: number, ms = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => done(d.toString().startsWith('+PONG')));
    sock.on('error', () => done(false));
  });
}

/** Starts redis-server on `port` (default: a free one) and waits (at most 10 s) until it answers PING. */
export async function startRedis(options: { port?: number } = {}): Promise<TestRedis> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'bitnet-redis-'));
  let child: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    if (child) return;
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
    const proc = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    proc.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    proc.on('exit', () => {
      if (child === proc) child = undefined;
    });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (!child) break;
      if (await ping(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    await kill();
    throw new Error(`redis-server did not answer on port ${port}:\n${output}`);
  };

  const kill = async (): Promise<void> => {
    const proc = child;
    if (!proc) return;
    const exited = new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) resolve();
      else proc.once('exit', () => resolve());
    });
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    child = undefined;
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    kill,
    start,
    restart: async () => {
      await kill();
      await start();
    },
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
