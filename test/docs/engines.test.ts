/**
 * The README promises the Node.js version of package.json's `engines`; every package the lock file
 * installs must run on it, so that `npm install` prints no EBADENGINE warning. Where a dependency's newest
 * release dropped that version, package.json's `overrides` picks an earlier one with the same API.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import semver from 'semver';
import { REPO_ROOT } from '../support/service-process.js';

interface LockedPackage {
  readonly version?: string;
  readonly engines?: Record<string, string> | string[];
}

const readJson = (name: string): unknown => JSON.parse(readFileSync(join(REPO_ROOT, name), 'utf8'));

it('installs only packages that run on the oldest Node.js the README promises', () => {
  const manifest = readJson('package.json') as { engines: { node: string } };
  const oldest = semver.minVersion(manifest.engines.node);
  assert.ok(oldest, `engines.node ${manifest.engines.node} names no version`);
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  assert.match(readme, new RegExp(`Node\\.js ${oldest.major}\\.${oldest.minor} or newer`));

  const lock = readJson('package-lock.json') as { packages: Record<string, LockedPackage> };
  const refused: string[] = [];
  for (const [path, locked] of Object.entries(lock.packages)) {
    // Old packages wrote engines as an array of strings; npm ignores those.
    const range = Array.isArray(locked.engines) ? undefined : locked.engines?.node;
    if (range !== undefined && !semver.satisfies(oldest, range)) {
      refused.push(`${path || 'the project'}@${locked.version ?? '?'} needs node ${range}`);
    }
  }
  assert.deepEqual(refused, [], `these do not run on Node.js ${oldest.version}`);
});
