import * as fs from 'node:fs';
import * as path from 'node:path';
import express from 'express';

/**
 * The folder of the page's static files: `playground/` at the package root, reached the same way
 * from `src/playground/` (tests) and `dist/playground/` (the published build).
 */
export const PLAYGROUND_DIR = path.resolve(__dirname, '..', '..', 'playground');

/**
 * The browser ES module of @bitnet/client (its `./browser` export, built by its scripts/build-browser.js):
 * the page streams /v1/stream with it.
 */
export function clientModulePath(): string {
  return path.join(path.dirname(require.resolve('@bitnet/client/package.json')), 'dist', 'browser', 'bitnet-client.mjs');
}

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: path.join(PLAYGROUND_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/playground.js': { file: path.join(PLAYGROUND_DIR, 'playground.js'), type: 'text/javascript; charset=utf-8' },
  '/playground.css': { file: path.join(PLAYGROUND_DIR, 'playground.css'), type: 'text/css; charset=utf-8' },
};

/**
 * The browser playground: three static files and the client's browser module, read once, served
 * with a policy that keeps the page on this origin (no CDN, nothing fetched from elsewhere).
 * Everything else falls through.
 */
export function playgroundRouter(): express.Router {
  const router = express.Router();
  const files = { ...FILES, '/playground/bitnet-client.mjs': { file: clientModulePath(), type: 'text/javascript; charset=utf-8' } };
  for (const [route, { file, type }] of Object.entries(files)) {
    let body: Buffer;
    try {
      body = fs.readFileSync(file);
    } catch (e) {
      throw new Error(`the playground needs ${file}: build @bitnet/client (npx nx run bitnet-client:build) (${(e as Error).message})`);
    }
    router.get(route, (_req, res) => {
      res.set({
        'Content-Type': type,
        'Cache-Control': 'no-cache',
        'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        'X-Content-Type-Options': 'nosniff',
      });
      res.send(body);
    });
  }
  return router;
}
