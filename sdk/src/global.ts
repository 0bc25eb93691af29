/** The browser build's entry (dist/clickstream.min.js): sets `window.Clickstream`. */
import { createClient, version } from './client.js';

(globalThis as { Clickstream?: unknown }).Clickstream = { createClient, version };
