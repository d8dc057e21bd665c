/**
 * Test support: a TCP relay in front of a server that can lose one response on the way. Armed with
 * `dropNext(prefix, tokens)`, it passes the response to the next request whose head starts with
 * `prefix` up to the end of its `tokens`-th token event and 10 bytes more (a torn event), then closes
 * the browser's socket, while its connection to the server stays open and keeps being read. To the
 * browser it is a connection lost in mid-stream; the server sees nothing and keeps writing, as when
 * a mobile link or a NAT drops a connection without a word to the server.
 */
import * as net from 'node:net';

export interface DropProxy {
  url: string;
  /** The head (request line and headers) of each request that went through, lower-cased. */
  readonly heads: string[];
  /**
   * Cuts the response to the next request whose head starts with `prefix` (lower case) after `tokens`
   * token events. With `serverSees`, the connection to the server is closed too (the server notices).
   */
  dropNext(prefix: string, tokens: number, serverSees?: boolean): void;
  /** How many responses were cut. */
  readonly drops: number;
  close(): Promise<void>;
}

export async function startDropProxy(target: { host: string; port: number }): Promise<DropProxy> {
  const sockets = new Set<net.Socket>();
  const heads: string[] = [];
  let armed: { prefix: string; tokens: number; serverSees: boolean } | undefined;
  let drops = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    // the response being cut on this connection: token events to let through, what was seen so far
    let cutting: { tokens: number; seen: string; serverSees: boolean } | undefined;
    let cut = false;
    client.on('data', (d: Buffer) => {
      // the requests here are small: a chunk that starts with a method is a request head
      const text = d.toString('latin1');
      if (/^(GET|POST|PUT|DELETE|OPTIONS|HEAD) /.test(text)) {
        const head = text.split('\r\n\r\n')[0].toLowerCase();
        heads.push(head);
        if (armed && head.startsWith(armed.prefix)) {
          cutting = { tokens: armed.tokens, seen: '', serverSees: armed.serverSees };
          armed = undefined;
        }
      }
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (cut) return; // read and forgotten: the server keeps writing into a live socket
      if (!cutting) return void client.write(d);
      const before = cutting.seen.length;
      cutting.seen += d.toString('latin1');
      const end = tornAfter(cutting.seen, cutting.tokens);
      if (end === undefined) return void client.write(d);
      // FIN right after the torn bytes (a reset could discard bytes still in the send queue): the browser
      // receives every byte written and then sees the response end in mid-chunk
      client.end(d.subarray(0, Math.max(0, Math.min(d.length, end - before))));
      cut = true;
      drops++;
      if (cutting.serverSees) upstream.destroy();
    });
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.on('close', () => {
      sockets.delete(client);
      if (!cut) upstream.destroy(); // a client that left on its own takes its upstream along
    });
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    heads,
    dropNext(prefix, tokens, serverSees = false) {
      armed = { prefix, tokens, serverSees };
    },
    get drops() {
      return drops;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Where to cut `text`: 10 bytes past the end of the n-th token event; undefined while that is not there yet. */
function tornAfter(text: string, n: number): number | undefined {
  let at = -1;
  for (let i = 0; i < n; i++) {
    at = text.indexOf('"token_id"', at + 1); // in the data of every token event, whatever the field spacing
    if (at < 0) return undefined;
  }
  const end = text.indexOf('\n\n', at);
  if (end < 0 || text.length < end + 2 + 10) return undefined;
  return end + 2 + 10;
}
