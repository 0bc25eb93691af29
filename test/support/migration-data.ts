/**
 * The data migration tests carry across a schema change: sessions with events (one on the session's second
 * result), some in a released batch and some in the collecting one, written through a store of the current
 * schema, and everything a reader sees of them, to compare with after the migration.
 */
import { toNewEvents } from '../../src/domain/event.js';
import { toNewSession } from '../../src/domain/session.js';
import type { RegisterSessionBody } from '../../src/schemas/payloads.js';
import type { ClickstreamStore } from '../../src/storage/store.js';
import { makeEvent } from './factories.js';
import { DEFAULT_RULES } from './rules.js';

/** Registers `bodies` with two events each, releasing after the second; answers what reads return. */
export async function fillBeforeMigration(
  store: ClickstreamStore,
  bodies: readonly RegisterSessionBody[],
  now: number,
): Promise<{ sessions: unknown[]; batches: unknown[] }> {
  for (const [index, body] of bodies.entries()) {
    await store.registerSession(toNewSession(body, now, DEFAULT_RULES), now);
    const events = [makeEvent({ object_id: body.search_results[1]?.object_id ?? '' }), makeEvent()];
    await store.addEvents(
      body.session_id,
      toNewEvents({ session_id: body.session_id, events }, now, DEFAULT_RULES).events,
      now,
    );
    if (index === 1) await store.releaseBatch('before-migration', now, 600);
  }
  const sessions = await Promise.all(bodies.map((b) => store.getSession(b.session_id, 100)));
  return { sessions, batches: await store.listBatches(10) };
}
