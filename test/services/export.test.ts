import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { toNewEvents } from '../../src/domain/event.js';
import { toNewSession } from '../../src/domain/session.js';
import { BatchService } from '../../src/services/batches.js';
import type { ClickstreamStore } from '../../src/storage/store.js';
import type { SessionWithEvents } from '../../src/schemas/records.js';
import { testBackends } from '../support/backends.js';
import { makeEvent, makeSession, nowSeconds } from '../support/factories.js';
import { DEFAULT_RULES } from '../support/rules.js';
import { openTestStore } from '../support/test-app.js';

// Export parts are runs of 50 session numbers, then a last part with every session after the count; 121
// sessions give parts of 50, 50 and 21 and an empty last part.
const SESSIONS = 121;
const PART = 50;

for (const backend of testBackends()) {
  describe(`BatchService.exportParts and exportPart on ${backend}`, () => {
    let store: ClickstreamStore;
    let cleanup: () => Promise<void>;
    let batches: BatchService;
    const now = nowSeconds();
    const ids: string[] = [];

    before(async () => {
      ({ store, cleanup } = await openTestStore(backend));
      batches = new BatchService(store, { limits: DEFAULT_RULES.limits, lateEventGraceSeconds: 600 }, () => now);
      for (let i = 0; i < SESSIONS; i++) {
        const body = makeSession();
        ids.push(body.session_id);
        await store.registerSession(toNewSession(body, now, DEFAULT_RULES), now);
        const objectIds = i % 3 === 0 ? [] : body.search_results.slice(0, i % 3).map((r) => r.object_id);
        const { events } = toNewEvents(
          { session_id: body.session_id, events: objectIds.map((objectId) => makeEvent({ object_id: objectId })) },
          now,
          DEFAULT_RULES,
        );
        if (events.length > 0) await store.addEvents(body.session_id, events, now);
      }
    });
    after(() => cleanup());

    /** Every part's sessions, read one part after another, as the export threads read them. */
    async function exportAll(batchId: string): Promise<SessionWithEvents[][]> {
      const parts: SessionWithEvents[][] = [];
      for (const part of await batches.exportParts(batchId)) {
        const sessions: SessionWithEvents[] = [];
        for await (const page of batches.exportPart(batchId, part)) {
          assert.ok(page.length > 0 && page.length <= PART, `a page of ${page.length}`);
          sessions.push(...page);
        }
        parts.push(sessions);
      }
      return parts;
    }

    it('cuts a batch into parts that hold every session once, in session_number order', async () => {
      const { batch_id: batchId, session_count: count } = await batches.release('export-test');
      assert.equal(count, SESSIONS);
      assert.deepEqual(await batches.exportParts(batchId), [
        { after: 0, through: 50 },
        { after: 50, through: 100 },
        { after: 100, through: 121 },
        { after: 121, through: null },
      ]);
      const parts = await exportAll(batchId);
      assert.deepEqual(
        parts.map((part) => part.length),
        [50, 50, 21, 0],
      );
      const sessions = parts.flat();
      assert.deepEqual(
        sessions.map((s) => s.session_id),
        ids,
      );
      const firstNumber = sessions[0]?.session_number ?? Number.NaN;
      sessions.forEach((session, index) => {
        assert.equal(session.session_number, firstNumber + index);
        assert.equal(session.search_results.length, 3);
        assert.equal(session.events.length, index % 3, `events of session ${index}`);
        assert.equal(session.events_truncated, false);
      });
    });

    it('exports every session once when session numbers have gaps and run past the count', async () => {
      // Re-registrations take a number from PostgreSQL's sequence and give it back to no one: gaps. On
      // SQLite numbers have no gaps, and the parts must still add up.
      const registered: string[] = [];
      // Each session registered twice: on PostgreSQL about 200 sessions are numbered past the count of 200,
      // more than one page of the last part.
      for (let i = 0; i < 200; i++) {
        const session = toNewSession(makeSession(), now, DEFAULT_RULES);
        registered.push(session.session_id);
        await store.registerSession(session, now);
        await store.registerSession(session, now);
      }
      const { batch_id: batchId } = await batches.release('export-gaps');
      const sessions = (await exportAll(batchId)).flat();
      assert.deepEqual(
        sessions.map((s) => s.session_id),
        registered,
      );
      const numbers = sessions.map((s) => s.session_number);
      assert.deepEqual(
        numbers,
        [...numbers].sort((a, b) => a - b),
      );
    });
  });
}
