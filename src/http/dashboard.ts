import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyReply } from 'fastify';
import { ClickstreamError } from '../domain/errors.js';
import type { App } from './app-types.js';
import { grantAccess } from './route-declarations.js';

/** The dashboard as `npm run build` leaves it (web/, built by Vite; this file is src/http or dist/http). */
export const DASHBOARD_ROOT = fileURLToPath(new URL('../../web/dist/', import.meta.url));

/**
 * The page runs only its own bundled scripts and styles (no inline code, nothing from elsewhere), talks only
 * to this origin, and cannot be framed (the release button must not be clicked through another site).
 * Blob URLs are the training-data downloads.
 */
export const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data: blob:; " +
  "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

function dashboardHeaders(reply: FastifyReply, path: string): void {
  void reply
    .header('content-security-policy', DASHBOARD_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    // Vite names the assets by their content: they never change; the page itself names them, so it is
    // revalidated every time.
    .header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
}

const notBuilt = () => {
  throw new ClickstreamError(
    'not_found',
    'the dashboard is not built: run `npm run build` (npm install does it), then restart the service',
  );
};

/**
 * Serves the dashboard at /ui and under /ui/: static files, public (every figure the page shows comes from
 * the API, with the admin key). Without a build (the service run from src/ before `npm run build`), the
 * same paths answer a 404 problem that says how to build it, and the service starts all the same.
 */
export async function registerDashboard(app: App, root: string = DASHBOARD_ROOT): Promise<void> {
  const index = join(root, 'index.html');
  await grantAccess('public', async () => {
    if (!existsSync(index)) {
      app.get('/ui', notBuilt);
      app.get('/ui/*', notBuilt);
      return;
    }
    // `/ui` itself serves the page too (its asset URLs are absolute), so that `/` needs one redirect only.
    app.get('/ui', async (_request, reply) => {
      dashboardHeaders(reply, index);
      return reply.type('text/html; charset=utf-8').send(await readFile(index));
    });
    await app.register(fastifyStatic, {
      root,
      prefix: '/ui/',
      // The demo page's registration (CLICKSTREAM_DEMO=1) decorates the reply; this one does not need it.
      decorateReply: false,
      index: ['index.html'],
      cacheControl: false,
      setHeaders: dashboardHeaders,
    });
  });
}
