import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The browser SDK's script as the service serves it, read once. */
export interface SdkScript {
  readonly body: Buffer;
  readonly version: string;
  /** A strong validator of the body, for If-None-Match. */
  readonly etag: string;
}

const require = createRequire(import.meta.url);
let loaded: SdkScript | undefined;

/**
 * The IIFE build of the SDK workspace (sdk/dist/clickstream.min.js, built by `npm install`), or null while
 * it is not built. Read once found and kept: it changes only with a new build, that is a restart.
 */
export function sdkScript(): SdkScript | null {
  if (loaded) return loaded;
  try {
    const body = readFileSync(require.resolve('@clickstream-collector/sdk/clickstream.min.js'));
    const { version } = JSON.parse(
      readFileSync(require.resolve('@clickstream-collector/sdk/package.json'), 'utf8'),
    ) as { version: string };
    loaded = { body, version, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
  } catch {
    return null;
  }
  return loaded;
}
