/**
 * Test support: Debian's nginx in front of test upstreams, with a configuration generated from the
 * committed `deploy/nginx.conf` (its replica list, listen port and paths substituted), run in the
 * foreground from a temporary directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './redisServer';

/** A running test nginx. */
export interface TestNginx {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** The generated configuration. */
  config: string;
  /** Stops nginx (SIGTERM, waits for its exit) and removes its directory. */
  stop(): Promise<void>;
}

/** The committed deployment configuration the harness starts from. */
export const DEPLOY_NGINX_CONF = resolve(__dirname, '../../../../deploy/nginx.conf');

/**
 * The configuration of `deploy/nginx.conf` for `upstreams` (host:port) on `port`, with its temp
 * paths and access log in `dir` and one worker.
 */
export function nginxConfig(template: string, upstreams: string[], port: number, dir: string): string {
  const replicas = /^([ \t]*)# replicas begin\n[\s\S]*?^[ \t]*# replicas end$/m;
  const listen = /^([ \t]*)listen\s+[^;]+;[ \t]*# listen$/m;
  const paths = /^([ \t]*)# paths\b.*$/m;
  for (const [name, re] of Object.entries({ replicas, listen, paths })) {
    if (!re.test(template)) throw new Error(`deploy/nginx.conf: the ${name} marker is missing`);
  }
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'];
  return template
    .replace(/^worker_processes\s+[^;]+;/m, 'worker_processes 1;')
    .replace(replicas, (_, indent: string) =>
      [`${indent}# replicas begin`, ...upstreams.map((u) => `${indent}server ${u} max_fails=1 fail_timeout=10s;`), `${indent}# replicas end`].join('\n'),
    )
    .replace(listen, (_, indent: string) => `${indent}listen 127.0.0.1:${port}; # listen`)
    .replace(paths, (_, indent: string) =>
      [`${indent}# paths`, `${indent}access_log ${join(dir, 'access.log')};`, ...temp.map((t) => `${indent}${t}_temp_path ${join(dir, `${t}_temp`)};`)].join('\n'),
    );
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolveConnect) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      resolveConnect(true);
    });
    sock.once('error', () => resolveConnect(false));
  });
}

/** Starts nginx in front of `upstreams` on a free port and waits (at most 10 s) until it listens. */
export async function startNginx(options: { upstreams: string[] }): Promise<TestNginx> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bitnet-nginx-'));
  chmodSync(dir, 0o755); // workers may run as another user when the tests run as root
  const config = nginxConfig(readFileSync(DEPLOY_NGINX_CONF, 'utf8'), options.upstreams, port, dir);
  const confPath = join(dir, 'nginx.conf');
  writeFileSync(confPath, config);
  const globals = `daemon off; master_process on; pid ${join(dir, 'nginx.pid')}; error_log ${join(dir, 'error.log')} warn;`;
  const bin = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx'; // /usr/sbin is not on every PATH
  const child: ChildProcess = spawn(bin, ['-p', `${dir}/`, '-c', confPath, '-g', globals], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  let running = true;
  void exited.then(() => (running = false));

  const stop = async (): Promise<void> => {
    if (running) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 10_000;
  while (running && Date.now() < deadline && !(await listening(port))) await new Promise((r) => setTimeout(r, 50));
  if (!running || !(await listening(port))) {
    let log = '';
    try {
      log = readFileSync(join(dir, 'error.log'), 'utf8');
    } catch {
      // no log yet
    }
    await stop();
    throw new Error(`nginx did not start on port ${port}:\n${output}\n${log}`);
  }
  return { url: `http://127.0.0.1:${port}`, port, config, stop };
}
