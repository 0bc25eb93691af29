/**
 * Requests arriving together share commits, yet each is answered only once its own rows are committed,
 * and a request that fails inside the store does not take its neighbours down with it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { testBackends, type Backend } from '../support/backends.js';
import { id, makeEvent, makeEvents, makeSession } from '../support/factories.js';
import { json, startTestApp, type TestApp } from '../support/test-app.js';

const BASE = '/api/v1/clickstream';

/** Counts a session's rows through a connection of its own, not the service's. */
interface SideReader {
  sessions(sessionId: string): Promise<number>;
  close(): Promise<void>;
}

function sideReader(backend: Backend, url: string): SideReader {
  if (backend === 'sqlite') {
    const db = new Database(url.slice('sqlite:'.length), { readonly: true });
    const statement = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM sessions WHERE session_id = ?');
    return {
      sessions: (sessionId) => Promise.resolve(statement.get(sessionId)?.n ?? 0),
      close: () => {
        db.close();
        return Promise.resolve();
      },
    };
  }
  // A pool, not one client: the registrations ask concurrently, and a client takes one query at a time.
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  return {
    sessions: async (sessionId) =>
      (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions WHERE session_id = $1', [sessionId]))
        .rows[0]?.n ?? 0,
    close: () => pool.end(),
  };
}

for (const backend of testBackends()) {
  describe(`concurrent writes [${backend}]`, () => {
    let t: TestApp;
    let reader: SideReader;
    before(async () => {
      t = await startTestApp(backend);
      reader = sideReader(backend, t.config.databaseUrl);
    });
    after(async () => {
      await reader.close();
      await t.close();
    });

    const post = (path: string, payload: object) => t.app.inject({ method: 'POST', url: `${BASE}${path}`, payload });

    it('acknowledge each write only once another connection can read it; failures stay their own', async () => {
      const taken = makeSession();
      await post('/session', taken);
      const clicked = makeEvents(taken, [0]);
      await post('/session/events', clicked);
      const first = clicked.events[0];
      assert.ok(first);

      const sessions = Array.from({ length: 60 }, () => makeSession());
      const visibleAtAnswer: boolean[] = [];
      const registrations = sessions.map(async (session) => {
        const response = await post('/session', session);
        visibleAtAnswer.push(response.statusCode === 200 && (await reader.sessions(session.session_id)) === 1);
        return response.statusCode;
      });
      // Failing neighbours in the same burst: a conflicting re-send, an unknown session, a changed session.
      const conflict = post('/session/events', {
        session_id: taken.session_id,
        events: [{ ...first, event_type: 'buy' }],
      });
      const unknown = post('/session/events', { session_id: id('unknown'), events: [makeEvent()] });
      const changed = post('/session', { ...taken, search_query: 'something else' });

      assert.deepEqual(new Set(await Promise.all(registrations)), new Set([200]));
      assert.equal(visibleAtAnswer.length, sessions.length);
      assert.ok(visibleAtAnswer.every(Boolean), 'a session was acknowledged before it was readable');
      assert.equal(json<{ code: string }>(await conflict).code, 'event_conflict');
      assert.equal(json<{ code: string }>(await unknown).code, 'session_not_found');
      assert.equal(json<{ code: string }>(await changed).code, 'session_conflict');
      for (const session of sessions) assert.equal(await reader.sessions(session.session_id), 1);
    });
  });
}
