/**
 * Writes that share a group commit succeed or fail alone, on every backend: a write refused for its own
 * data (an id taken in the same group, a trigger's RAISE) takes none of its neighbours down with it.
 * Writes issued in one turn of the event loop, with no await between them, form one group.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { toNewEvents } from '../../src/domain/event.js';
import { isSameSession, toNewSession, type NewSession } from '../../src/domain/session.js';
import type { ClickstreamStore } from '../../src/storage/store.js';
import { testBackends, withDatabase, type Backend } from '../support/backends.js';
import { id, makeEvents, makeSession, nowSeconds } from '../support/factories.js';
import { DEFAULT_RULES } from '../support/rules.js';
import { openTestStore } from '../support/test-app.js';

/**
 * Installs a trigger that refuses rows of `table` whose `column` is `value`, as a constraint the store does
 * not know of would (SQLite: RAISE(ABORT); PostgreSQL: a check_violation).
 */
async function poison(backend: Backend, url: string, table: string, column: string, value: string): Promise<void> {
  const name = `poison_${randomBytes(6).toString('hex')}`;
  if (backend === 'sqlite') {
    const db = new Database(url.slice('sqlite:'.length));
    try {
      db.exec(`CREATE TRIGGER ${name} BEFORE INSERT ON ${table} WHEN NEW.${column} = '${value}'
        BEGIN SELECT RAISE(ABORT, 'poisoned'); END`);
    } finally {
      db.close();
    }
    return;
  }
  await withDatabase(url, async (client) => {
    await client.query(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.${column} = '${value}' THEN RAISE EXCEPTION 'poisoned' USING ERRCODE = 'check_violation'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER ${name} BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${name}()`);
  });
}

for (const backend of testBackends()) {
  describe(`grouped writes fail alone [${backend}]`, () => {
    let store: ClickstreamStore;
    let url: string;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, url, cleanup } = await openTestStore(backend));
    });
    after(() => cleanup());

    const sessions = (count: number, now: number): NewSession[] =>
      Array.from({ length: count }, () => toNewSession(makeSession(), now, DEFAULT_RULES));

    it('two registrations of one id in one group: one is created, the other answers with its content', async () => {
      const now = nowSeconds();
      const body = makeSession();
      const first = toNewSession(body, now, DEFAULT_RULES);
      const changed = toNewSession(
        { ...body, search_query: 'another search', search_results: body.search_results.slice(1) },
        now,
        DEFAULT_RULES,
      );
      const others = sessions(6, now);
      // One turn: the two registrations of the id with other sessions before, between and after them.
      const group = [...others.slice(0, 2), first, ...others.slice(2, 4), changed, ...others.slice(4)];
      const answers = await Promise.all(group.map((session) => store.registerSession(session, now)));

      const mine = answers.filter((_, index) => group[index]?.session_id === body.session_id);
      assert.deepEqual(
        mine.map((a) => a.created),
        [true, false],
      );
      const [created, taken] = mine;
      assert.ok(created && taken);
      assert.ok(isSameSession(taken.session, first), 'the id answers with the first registration');
      assert.ok(!isSameSession(taken.session, changed), 'which the service refuses as a conflict (409)');
      assert.deepEqual(taken.session, { ...created.session, created_at_given: taken.session.created_at_given });
      const stored = await store.findSession(body.session_id);
      assert.ok(stored && isSameSession(stored, first));

      for (const session of others) {
        const read = await store.getSession(session.session_id, 10);
        assert.equal(read?.search_results.length, session.search_results.length, session.session_id);
      }
    });

    it('a registration refused by a trigger fails alone; the rest of its group is stored', async () => {
      const now = nowSeconds();
      const poisoned = toNewSession(makeSession({ session_id: id('poison') }), now, DEFAULT_RULES);
      await poison(backend, url, 'sessions', 'session_id', poisoned.session_id);
      const others = sessions(8, now);
      const group = [...others.slice(0, 4), poisoned, ...others.slice(4)];
      const settled = await Promise.allSettled(group.map((session) => store.registerSession(session, now)));

      settled.forEach((outcome, index) => {
        const session = group[index];
        assert.ok(session);
        if (session === poisoned) assert.equal(outcome.status, 'rejected', 'the poisoned registration');
        else assert.deepEqual(outcome.status === 'fulfilled' && outcome.value.created, true, session.session_id);
      });
      assert.equal(await store.findSession(poisoned.session_id), null);
      for (const session of others) {
        assert.ok(await store.findSession(session.session_id), `${session.session_id} is stored`);
      }
      assert.deepEqual(await store.checkIntegrity(), []);
    });

    it('events refused by a trigger fail alone; the other event writes of their group are stored', async () => {
      const now = nowSeconds();
      const bodies = Array.from({ length: 6 }, () => makeSession());
      for (const body of bodies) await store.registerSession(toNewSession(body, now, DEFAULT_RULES), now);
      const writes = bodies.map((body) => ({
        sessionId: body.session_id,
        events: toNewEvents(makeEvents(body, [0, 1]), now, DEFAULT_RULES).events,
      }));
      const poisonedEvent = writes[2]?.events[1];
      assert.ok(poisonedEvent);
      await poison(backend, url, 'events', 'event_id', poisonedEvent.event_id);

      const settled = await Promise.allSettled(writes.map((w) => store.addEvents(w.sessionId, w.events, now)));
      settled.forEach((outcome, index) => {
        if (index === 2) assert.equal(outcome.status, 'rejected', 'the write with the poisoned event');
        else assert.deepEqual(outcome, { status: 'fulfilled', value: { stored: 2, duplicates: 0 } });
      });
      for (const [index, body] of bodies.entries()) {
        const read = await store.getSession(body.session_id, 10);
        assert.equal(read?.events.length, index === 2 ? 0 : 2, 'all or nothing per request');
      }
    });
  });
}
