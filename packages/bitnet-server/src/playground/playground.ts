import * as fs from 'node:fs';
import * as path from 'node:path';
import express from 'express';

/**
 * The folder of the page's static files: `playground/` at the package root, reached the same way
 * from `src/playground/` (tests) and `dist/playground/` (the published build).
 */
export const PLAYGROUND_DIR = path.resolve(__dirname, '..', '..', 'playground');

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/playground.js': { file: 'playground.js', type: 'text/javascript; charset=utf-8' },
  '/playground.css': { file: 'playground.css', type: 'text/css; charset=utf-8' },
};

/**
 * The browser playground: three static files read once, served with a policy that keeps the page
 * on this origin (no CDN, nothing fetched from elsewhere). Everything else falls through.
 */
export function playgroundRouter(): express.Router {
  const router = express.Router();
  for (const [route, { file, type }] of Object.entries(FILES)) {
    const body = fs.readFileSync(path.join(PLAYGROUND_DIR, file));
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
