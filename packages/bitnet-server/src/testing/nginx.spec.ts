import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { DEPLOY_NGINX_CONF, nginxConfig, startNginx, type TestNginx } from './nginx';

/** A tiny upstream: /sse sends one event, then a second one once released (or after 5 s); /who says who it is. */
interface Upstream {
  name: string;
  address: string;
  /** When the last /sse response ended (0: not yet). */
  sseEndedAt: number;
  releaseSse(): void;
  close(): Promise<void>;
}

async function startUpstream(name: string): Promise<Upstream> {
  let release: () => void = () => undefined;
  const up: Upstream = {
    name,
    address: '',
    sseEndedAt: 0,
    releaseSse: () => release(),
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
  const server = http.createServer((req, res) => {
    if (req.url === '/sse') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      res.write(`id: ${name}:1\nevent: token\ndata: {"n":1}\n\n`);
      const released = new Promise<void>((r) => (release = r));
      const timer = new Promise<void>((r) => setTimeout(r, 5000).unref());
      void Promise.race([released, timer]).then(() => {
        res.end(`id: ${name}:2\nevent: complete\ndata: {"n":2}\n\n`);
        up.sseEndedAt = Date.now();
      });
      return;
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ name, method: req.method, headers: req.headers }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  up.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return up;
}

/** One request through nginx: status and JSON body. */
function ask(url: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; body: { name: string; headers: Record<string, string> } }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false, timeout: 5000 }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(method === 'POST' ? '{"prompt":"x"}' : undefined);
  });
}

describe('nginx in front of replicas (deploy/nginx.conf)', () => {
  let a: Upstream;
  let b: Upstream;
  let nginx: TestNginx;

  beforeAll(async () => {
    a = await startUpstream('a');
    b = await startUpstream('b');
    nginx = await startNginx({ upstreams: [a.address, b.address] });
  });
  afterAll(async () => {
    await nginx?.stop();
    await a?.close();
    await b?.close();
  });

  it('generates its configuration from the committed file', () => {
    expect(nginx.config).toContain(`server ${a.address}`);
    expect(nginx.config).toContain(`server ${b.address}`);
    expect(nginx.config).toContain(`listen 127.0.0.1:${nginx.port};`);
    expect(nginx.config).not.toContain('127.0.0.1:8081');
    expect(nginx.config).toMatch(/proxy_buffering off;/);
    expect(() => nginxConfig('http {}', [], 1, '/tmp')).toThrow(/marker/);
    expect(readFileSync(DEPLOY_NGINX_CONF, 'utf8')).toContain('server 127.0.0.1:8081;');
  });

  it('passes an SSE response event by event, not buffered', async () => {
    const first = await new Promise<{ text: string; beforeEnd: boolean; upstream: Upstream }>((resolve, reject) => {
      const req = http.get(`${nginx.url}/sse`, { agent: false, timeout: 8000 }, (res) => {
        expect(res.headers['content-type']).toMatch(/text\/event-stream/);
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
          if (!text.includes('\n\n')) return;
          const upstream = text.includes('id: a:1') ? a : b;
          resolve({ text, beforeEnd: upstream.sseEndedAt === 0, upstream });
          upstream.releaseSse();
          res.resume();
          res.on('end', () => undefined);
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
    });
    expect(first.text).toMatch(/^id: [ab]:1\nevent: token\ndata: \{"n":1\}\n\n$/);
    expect(first.beforeEnd).toBe(true);
  });

  it('spreads requests over both replicas and forwards Last-Event-ID and X-Forwarded-*', async () => {
    const names = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const r = await ask(`${nginx.url}/who`, 'GET', { 'Last-Event-ID': 'abcdefghij:3' });
      expect(r.status).toBe(200);
      names.add(r.body.name);
      expect(r.body.headers['last-event-id']).toBe('abcdefghij:3');
      expect(r.body.headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(r.body.headers['x-forwarded-proto']).toBe('http');
    }
    expect([...names].sort()).toEqual(['a', 'b']);
  });

  it('moves on to the live replica when one is dead', async () => {
    await a.close();
    for (let i = 0; i < 6; i++) {
      const get = await ask(`${nginx.url}/who`);
      expect(get).toMatchObject({ status: 200, body: { name: 'b' } });
      const post = await ask(`${nginx.url}/who`, 'POST', { 'Content-Type': 'application/json' });
      expect(post).toMatchObject({ status: 200, body: { name: 'b' } });
    }
  });
});
