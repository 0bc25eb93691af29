import cors from '@fastify/cors';
import type { Config } from '../config/config.js';
import type { App } from './app-types.js';

/**
 * CORS for the origins of CLICKSTREAM_CORS_ORIGINS (`*`: any), so that search pages on other origins can
 * call the API with fetch and read the answers. Unset, no CORS header is sent and browsers keep pages on
 * other origins from reading answers. CORS decides what a browser lets a page read; it does not stop a
 * request reaching the service (a sendBeacon or a form post is sent regardless), which is why the keys,
 * not CORS, protect the data.
 */
export async function registerCors(app: App, config: Config): Promise<void> {
  if (config.corsOrigins.length === 0) return;
  await app.register(cors, {
    origin: config.corsOrigins.includes('*') ? '*' : [...config.corsOrigins],
    methods: ['GET', 'POST'],
    allowedHeaders: ['Content-Type', 'Authorization', 'X-API-Key', 'X-Request-Id'],
    exposedHeaders: ['X-Request-Id', 'Retry-After', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'],
    // Keys travel in headers or the URL, never in cookies.
    credentials: false,
    maxAge: 600,
    strictPreflight: true,
  });
}
