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

// Export pages by 500 sessions and asks for the next page before handing this one over; 1,001 sessions
// give two full pages and a last page of one.
const SESSIONS = 1001;

for (const backend of testBackends()) {
  describe(`BatchService.exportBatch on ${backend}`, () => {
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

    it('yields every session once, in session_number order, in non-empty pages of at most 500', async () => {
      const { batch_id: batchId } = await batches.release('export-test');
      const pages: SessionWithEvents[][] = [];
      for await (const page of batches.exportBatch(batchId)) pages.push(page);

      assert.deepEqual(
        pages.map((page) => page.length),
        [500, 500, 1],
      );
      const sessions = pages.flat();
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

    it('can be left early without an unhandled failure', async () => {
      const batch = (await batches.listBatches(10)).find((b) => b.release_id === 'export-test');
      assert.ok(batch);
      for await (const page of batches.exportBatch(batch.batch_id)) {
        assert.equal(page.length, 500);
        break;
      }
      // The prefetched page is still read: the store must be usable afterwards.
      assert.equal((await batches.getBatch(batch.batch_id)).session_count, SESSIONS);
    });
  });
}
