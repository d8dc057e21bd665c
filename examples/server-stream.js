#!/usr/bin/env node
// Starts @bitnet/server on a free port, reads /health, then POSTs /v1/stream and prints the
// Server-Sent Events as they arrive (one `token` event per token, carrying its id), then stops.
//   node examples/server-stream.js [MODEL.gguf]
'use strict';
const { startServer } = require('@bitnet/server');

async function run() {
  const [modelPath] = process.argv.slice(2);
  const server = await startServer({ port: 0, host: '127.0.0.1', logLevel: 'error', ...(modelPath ? { model: modelPath } : {}) });
  try {
    const health = await (await fetch(`${server.url}/health`)).json();
    console.log(`model: ${health.model.id}, chat format: ${health.chat_format}, kernels: ${health.kernels}`);

    const res = await fetch(`${server.url}/v1/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'And God said', max_tokens: Number(process.env.MAX_TOKENS ?? 12), temperature: 0 }),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
    // a minimal SSE reader: events are separated by a blank line, fields are "name:value" lines (one optional space after the colon)
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of res.body) {
      buffered += decoder.decode(chunk, { stream: true });
      let end;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const event = /^event: ?(.*)$/m.exec(block)?.[1];
        const data = /^data: ?(.*)$/m.exec(block)?.[1];
        if (!event || data === undefined) continue; // keep-alive comments
        const payload = JSON.parse(data);
        if (event === 'token') console.log(`token  id ${String(payload.token_id).padStart(6)}  ${JSON.stringify(payload.token)}`);
        else console.log(`${event}: ${data}`);
      }
    }
  } finally {
    await server.close();
  }
}

run().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
