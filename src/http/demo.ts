import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { App } from './app-types.js';
import { grantAccess } from './route-declarations.js';

/** The demo search page's files, in the repository (this file is src/http/demo.ts or dist/http/demo.js). */
export const DEMO_ROOT = fileURLToPath(new URL('../../examples/demo-search/', import.meta.url));

/**
 * Serves the demo search page at /demo/ (CLICKSTREAM_DEMO=1): static files, public like the SDK it loads;
 * everything it sends goes through the client routes, with their keys.
 */
export async function registerDemo(app: App): Promise<void> {
  await grantAccess('public', () =>
    app.register(fastifyStatic, {
      root: DEMO_ROOT,
      prefix: '/demo',
      // `/demo` answers with a redirect to `/demo/`, under which the page's relative URLs resolve.
      redirect: true,
      cacheControl: true,
      maxAge: 60_000,
      // The page runs only its own scripts and the SDK from this origin, and talks only to this origin.
      setHeaders: (reply) => {
        void reply.header(
          'content-security-policy',
          "default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'",
        );
      },
    }),
  );
}
