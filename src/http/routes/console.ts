/**
 * Serves the security console (the React app built from web/ into dist/web) at `/`.
 *
 * Invariants: only files that exist when the server starts are served (no wildcard route);
 * the page may load scripts, styles and data only from this origin (Content-Security-Policy),
 * may not be framed, and sends no referrer. Hashed assets are cached for a year, index.html never.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { sendError, type App } from '../server.js';
import { CSP } from '../csp.js';


/** dist/web beside the compiled server (dist/http/routes → dist/web), or from src/ in tests. */
export function consoleDir(): string | null {
  for (const rel of ['../../web/', '../../../dist/web/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  return null;
}

export async function consoleRoutes(app: App, dir: string | null = consoleDir()): Promise<void> {
  if (!dir) {
    app.get('/', { schema: { hide: true } }, async (_req, reply) => sendError(reply, 'unavailable', 'the console is not built: run `npm run build:web` (npm ci does it)'));
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    wildcard: false,
    preCompressed: true,
    index: ['index.html'],
    cacheControl: false,
    setHeaders(res, path) {
      res.setHeader('content-security-policy', CSP);
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('referrer-policy', 'no-referrer');
      res.setHeader('x-frame-options', 'DENY');
      res.setHeader('cache-control', /[\\/]assets[\\/]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
