/**
 * A deployment loads only the storage backend it chose: a service and CLI commands on SQLite never import
 * pg (nor its process-wide type parser), and one on PostgreSQL never imports better-sqlite3. Each child
 * records every module it resolves (test/support/record-imports.ts).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ReleaseResponse } from '../../src/schemas/records.js';
import { createTestDatabase } from '../support/backends.js';
import { makeEvents, makeSession, scratchDir } from '../support/factories.js';
import { runCliProcess, startService } from '../support/service-process.js';

const RECORD = ['--import', './test/support/record-imports.ts'];
const BASE = '/api/v1/clickstream';

/** The packages (bare specifiers' first part) a child resolved, from its record. */
function packagesIn(file: string): Set<string> {
  const packages = new Set<string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [specifier = ''] = line.split('\t');
    if (specifier === '' || specifier.startsWith('.') || specifier.startsWith('/') || specifier.includes(':')) continue;
    const parts = specifier.split('/');
    packages.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier));
  }
  return packages;
}

async function post(baseUrl: string, path: string, body: unknown): Promise<Response> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, await response.clone().text());
  return response;
}

/** Serves a session's whole life (register, events, release, read), then stops; returns what was loaded. */
async function serveAndUse(dir: string, databaseUrl: string): Promise<Set<string>> {
  const record = join(dir, `imports-${Math.random().toString(36).slice(2)}.tsv`);
  const service = await startService(
    dir,
    { CLICKSTREAM_DATABASE_URL: databaseUrl, RECORD_IMPORTS_TO: record },
    [],
    RECORD,
  );
  try {
    const session = makeSession();
    await post(service.baseUrl, `${BASE}/session`, session);
    await post(service.baseUrl, `${BASE}/session/events`, makeEvents(session, [0, 1]));
    const released = (await (
      await post(service.baseUrl, `${BASE}/internal/batch/release`, { release_id: `r-${session.session_id}` })
    ).json()) as ReleaseResponse;
    const page = await fetch(`${service.baseUrl}${BASE}/internal/batch/sessions?batch_id=${released.batch_id}`);
    assert.equal(page.status, 200);
    assert.equal(((await page.json()) as { sessions: unknown[] }).sessions.length, 1);
  } finally {
    await service.kill();
  }
  return packagesIn(record);
}

describe('each deployment loads only the storage backend it chose', () => {
  let dir: string;
  let cleanup: () => void;
  before(() => {
    ({ dir, cleanup } = scratchDir());
  });
  after(() => {
    cleanup();
  });

  it('a service on SQLite and its CLI commands never import pg', async () => {
    const loaded = await serveAndUse(dir, `sqlite:${join(dir, 'served.db')}`);
    assert.ok(loaded.has('better-sqlite3'), `the record shows the backend it used: ${[...loaded].join(', ')}`);
    assert.ok(!loaded.has('pg'), 'pg was imported by a service on SQLite');

    for (const command of [['batches'], ['check'], ['export', '--batch-id', 'none-such']]) {
      const record = join(dir, `cli-${command[0] ?? ''}.tsv`);
      const result = await runCliProcess(
        dir,
        command,
        { CLICKSTREAM_DATABASE_URL: `sqlite:${join(dir, 'served.db')}`, RECORD_IMPORTS_TO: record },
        RECORD,
      );
      assert.ok(result.signal === null, `clickstream ${command.join(' ')} was killed: ${result.stderr}`);
      const cli = packagesIn(record);
      assert.ok(cli.has('better-sqlite3'), `clickstream ${command.join(' ')} opened the store`);
      assert.ok(!cli.has('pg'), `clickstream ${command.join(' ')} imported pg on SQLite`);
    }
  });

  it('a service on PostgreSQL imports pg and never better-sqlite3', async () => {
    const database = await createTestDatabase();
    try {
      const loaded = await serveAndUse(dir, database.url);
      assert.ok(loaded.has('pg'), `the record shows the backend it used: ${[...loaded].join(', ')}`);
      assert.ok(!loaded.has('better-sqlite3'), 'better-sqlite3 was imported by a service on PostgreSQL');
    } finally {
      await database.drop();
    }
  });
});
