import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { toNewEvents } from '../../src/domain/event.js';
import { toNewSession } from '../../src/domain/session.js';
import type { ClickstreamStore } from '../../src/storage/store.js';
import { testBackends, withDatabase, type Backend } from '../support/backends.js';
import { makeEvents, makeSession, nowSeconds } from '../support/factories.js';
import { DEFAULT_RULES } from '../support/rules.js';
import { openTestStore } from '../support/test-app.js';

/** Runs statements on the store's database behind its back, as a bug or a hand edit would. */
async function tamper(backend: Backend, url: string, statements: readonly [string, unknown[]][]): Promise<void> {
  if (backend === 'sqlite') {
    const db = new Database(url.slice('sqlite:'.length));
    try {
      // As a hand edit would: without the connection's key checks.
      db.pragma('foreign_keys = OFF');
      for (const [sql, values] of statements) db.prepare(sql.replace(/\$\d+/g, '?')).run(...values);
    } finally {
      db.close();
    }
    return;
  }
  await withDatabase(url, async (client) => {
    for (const [sql, values] of statements) await client.query(sql, values);
  });
}

for (const backend of testBackends()) {
  describe(`checkIntegrity on ${backend}`, () => {
    let store: ClickstreamStore;
    let url: string;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, url, cleanup } = await openTestStore(backend));
    });
    after(() => cleanup());

    it('finds nothing in a consistent store, and names each rule a tampered one breaks', async () => {
      const now = nowSeconds();
      const body = makeSession();
      await store.registerSession(toNewSession(body, now, DEFAULT_RULES), now);
      await store.addEvents(body.session_id, toNewEvents(makeEvents(body, [0]), now, DEFAULT_RULES).events, now);
      await store.releaseBatch('integrity', now, 600);
      assert.deepEqual(await store.checkIntegrity(), []);

      // SQLite keeps a row per result, keyed by the session's arrival number (sid); PostgreSQL a JSON list in
      // the session's row with their object ids beside it, where a result cannot lose its session, but the
      // list can hold something else and the ids can disagree with it. Each stray row comes with the
      // problem it must be reported as.
      const ghost = (results: string, ids: string, name: string): string =>
        `INSERT INTO sessions (session_id, batch_id, session_number, search_query, created_at, created_at_given,
           registered_at, results, result_ids)
         SELECT '${name}', batch_id, 999999, '"q"', 0, false, 0, '${results}', '${ids}'
         FROM batches WHERE released_at IS NULL LIMIT 1`;
      const results =
        backend === 'sqlite'
          ? {
              move: 'UPDATE search_results SET position = 7 WHERE sid = (SELECT sid FROM sessions WHERE session_id = $1) AND position = 0',
              strays: [
                [
                  "INSERT INTO search_results (sid, position, object_id) VALUES (999999, 0, 'x')",
                  'result 0 belongs to the unknown session number 999999',
                ],
              ] as const,
            }
          : {
              move: `UPDATE sessions SET results = (
                       SELECT json_agg(CASE WHEN n = 1 THEN json_build_object('object_id', r->'object_id', 'position', 7)
                         ELSE r END ORDER BY n)
                       FROM json_array_elements(results) WITH ORDINALITY AS x(r, n))
                     WHERE session_id = $1`,
              strays: [
                [
                  ghost('[{"position": 0}]', '{x}', 'no-object-ids'),
                  'the results of session no-object-ids are not a list of results',
                ],
                [
                  ghost('[{"object_id": "a", "position": 0}]', '{b}', 'other-ids'),
                  "the result ids of session other-ids are not its results' object ids",
                ],
              ] as const,
            };
      await tamper(backend, url, [
        ['UPDATE batches SET session_count = session_count + 5 WHERE release_id = $1', ['integrity']],
        [results.move, [body.session_id]],
        ...results.strays.map(([sql]): [string, unknown[]] => [sql, []]),
      ]);
      const problems = await store.checkIntegrity();
      assert.ok(
        problems.some((p) => /^batch \S+ counts 6 sessions but holds 1$/.test(p)),
        problems.join('\n'),
      );
      assert.ok(problems.some((p) => p.includes(`results of session ${body.session_id} are not numbered`)));
      assert.ok(problems.some((p) => p.includes('has a position its object is not at')));
      for (const [, problem] of results.strays) assert.ok(problems.includes(problem), problems.join('\n'));
    });
  });
}
