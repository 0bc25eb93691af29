import { Type } from 'typebox';
import { ClickstreamError } from '../../domain/errors.js';
import { sdkScript } from '../sdk-script.js';
import { defineRoute } from './route-definition.js';

/** The header that names the SDK version served (also `Clickstream.version` in the script). */
export const SDK_VERSION_HEADER = 'x-clickstream-sdk-version';

/**
 * The browser SDK, served from the collector's own origin so that a page can load it with one script tag
 * and no CDN. Public: it is code, not data. Cached for an hour (the URL is not versioned, so not for
 * ever) and revalidated with its ETag.
 */
export const SDK_ROUTES = [
  defineRoute({
    method: 'GET',
    url: '/sdk/clickstream.min.js',
    access: 'public',
    errors: ['not_found'],
    schema: {
      tags: ['operations'],
      summary: 'The browser SDK (sets window.Clickstream)',
      description: `Its version is in the ${SDK_VERSION_HEADER} header and in Clickstream.version. 304 for a matching If-None-Match.`,
      response: {
        200: {
          description: 'The minified script.',
          content: { 'text/javascript': { schema: Type.String() } },
        },
      },
    },
    handler: () => (request, reply) => {
      const script = sdkScript();
      if (!script) {
        throw new ClickstreamError('not_found', 'the SDK is not built; run `npm run build` (npm install does it)');
      }
      void reply
        .header('cache-control', 'public, max-age=3600')
        .header('etag', script.etag)
        .header(SDK_VERSION_HEADER, script.version)
        // Pages that isolate themselves (Cross-Origin-Embedder-Policy) may still load it from here.
        .header('cross-origin-resource-policy', 'cross-origin')
        .type('text/javascript; charset=utf-8');
      const matches = (request.headers['if-none-match'] ?? '').split(',').map((tag) => tag.trim().replace(/^W\//, ''));
      if (matches.includes(script.etag) || matches.includes('*')) return reply.status(304).send();
      return reply.send(script.body);
    },
  }),
];
