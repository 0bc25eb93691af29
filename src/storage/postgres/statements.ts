/**
 * The hot statements of the PostgreSQL store's write pipelines (writes.ts), and the decisions taken
 * between them: the registration of a group of sessions, and the events of a group of requests.
 */
import type pg from 'pg';
import { isSameEvent, type NewEvent } from '../../domain/event.js';
import type { NewSession, SessionRecord } from '../../domain/session.js';
import type { Outcome } from '../group-queue.js';
import { assertWritable, eventConflict, toJson } from '../store-helpers.js';
import { loadSessions, selectEventsByKey } from './reads.js';
import { eventKey } from './rows.js';

export interface Registration {
  readonly session: NewSession;
  readonly now: number;
}
export type Registered = { created: boolean; session: SessionRecord };

export interface EventWrite {
  readonly sessionId: string;
  readonly events: readonly NewEvent[];
  readonly now: number;
}
export type EventsAdded = { stored: number; duplicates: number };

/**
 * Registers sessions in one statement, a multi-row insert of the sessions, each with its results as one
 * JSON value; answers in the order of `inputs`. An id taken before (or twice in `inputs`) answers with the
 * stored session. Runs in the caller's transaction, which holds the shared release lock.
 */
export async function insertSessions(client: pg.ClientBase, inputs: readonly Registration[]): Promise<Registered[]> {
  const firsts = new Map<string, Registration>();
  for (const input of inputs) if (!firsts.has(input.session.session_id)) firsts.set(input.session.session_id, input);
  // In key order, so that two groups registering some of the same ids cannot deadlock.
  const unique = [...firsts.values()].sort((a, b) => (a.session.session_id < b.session.session_id ? -1 : 1));
  // Named: the hot statements are parsed and planned once per connection (node-postgres prepares a
  // named statement on its first use); re-planning them for every group cost about a third of the
  // server's CPU time per request (bench/README.md).
  const inserted = await client.query<{ session_id: string; batch_id: string; session_number: number }>({
    name: 'sessions-insert',
    text: `WITH u AS (
         SELECT * FROM ROWS FROM (json_to_recordset($1::json) AS (session_id text, search_query text,
           search_meta text, payload_filter text, sort_by text, user_id text, created_at bigint,
           created_at_given boolean, registered_at bigint, search_results text, result_ids text[]))
           WITH ORDINALITY
           AS u(session_id, search_query, search_meta, payload_filter, sort_by, user_id, created_at, created_at_given,
             registered_at, results, result_ids, n)
       ), s AS (
         INSERT INTO sessions (session_id, batch_id, session_number, search_query, search_meta, payload_filter,
           sort_by, user_id, created_at, created_at_given, registered_at, results, result_ids)
         SELECT u.session_id, b.batch_id, nextval('session_numbers') - b.number_base, u.search_query::json,
           u.search_meta::json, u.payload_filter::json, u.sort_by::json, u.user_id, u.created_at,
           u.created_at_given, u.registered_at, u.results::json, u.result_ids
         FROM u CROSS JOIN batches b WHERE b.released_at IS NULL
         ORDER BY u.n
         ON CONFLICT (session_id) DO NOTHING
         RETURNING session_id, batch_id, session_number
       )
       SELECT session_id, batch_id, session_number FROM s`,
    // The sessions as one JSON parameter, read by json_to_recordset (a JSON null becomes SQL NULL): one
    // JSON.stringify instead of ten array parameters escaped value by value, which was 6 % of the event
    // loop's time. JSON values go in as JSON text inside it, cast to json in SQL: unpacked as JSON
    // themselves, a \u0000 or a lone surrogate in them would fail the group. The results go in as the
    // domain normalised them, {object_id, position, rank, meta}: as reads return them.
    values: [
      JSON.stringify(
        unique.map(({ session, now }) => ({
          session_id: session.session_id,
          search_query: JSON.stringify(session.search_query),
          search_meta: toJson(session.search_meta),
          payload_filter: toJson(session.payload_filter),
          sort_by: toJson(session.sort_by),
          user_id: session.user_id,
          created_at: session.created_at,
          created_at_given: session.created_at_given,
          registered_at: now,
          search_results: JSON.stringify(session.search_results),
          // Ids are safe to unpack: the domain refuses control characters and lone surrogates in them.
          result_ids: session.search_results.map((r) => r.object_id),
        })),
      ),
    ],
  });
  const slots = new Map(inserted.rows.map((row) => [row.session_id, row]));
  const taken = inputs.filter(
    (input) => !(slots.has(input.session.session_id) && firsts.get(input.session.session_id) === input),
  );
  const stored = await loadSessions(client, [...new Set(taken.map((input) => input.session.session_id))]);
  return inputs.map((input): Registered => {
    const slot = slots.get(input.session.session_id);
    if (slot && firsts.get(input.session.session_id) === input) {
      const session = {
        ...input.session,
        batch_id: slot.batch_id,
        session_number: slot.session_number,
        is_irrelevant: false,
      };
      return { created: true, session };
    }
    const existing = stored.get(input.session.session_id);
    if (!existing) throw new Error(`session ${input.session.session_id} conflicted but cannot be read`);
    return { created: false, session: existing };
  });
}

/**
 * Decides and stores the events of `writes`, each write's outcome its own, in two statements: one reads
 * their sessions' states and the events stored under their ids, one inserts every new event. `group`: the
 * insert fails whole on a key another process stored meanwhile; `alone` (one write, in the caller's
 * transaction): such keys are skipped, then compared with what the other process stored.
 */
export async function addEventsTogether(
  client: pg.ClientBase,
  writes: readonly EventWrite[],
  mode: 'group' | 'alone',
): Promise<Outcome<EventsAdded>[]> {
  const sessionIds = [...new Set(writes.map((w) => w.sessionId))];
  const keys = writes.flatMap((w) => w.events.map((e) => [w.sessionId, e.event_id] as const));
  // One statement (one snapshot) for each session's state, its results' object ids (in position order)
  // and the events already stored under the ids these requests use.
  const states = await client.query<{
    session_id: string;
    sealed_at: number | null;
    result_ids: string[];
    known: NewEvent[] | null;
  }>({
    // Named, like the registration insert: parsed and planned once per connection.
    name: 'events-states',
    text: `SELECT s.session_id, b.sealed_at, s.result_ids,
       (SELECT json_agg(json_build_object('event_id', e.event_id, 'object_id', e.object_id, 'event_type',
           e.event_type, 'created_at', e.created_at, 'created_at_given', e.created_at_given, 'meta', e.meta))
         FROM unnest($2::text[], $3::text[]) AS k(session_id, event_id)
         JOIN events e ON e.session_id = k.session_id AND e.event_id = k.event_id
         WHERE k.session_id = s.session_id) AS known
     FROM sessions s JOIN batches b ON b.batch_id = s.batch_id WHERE s.session_id = ANY($1::text[])`,
    values: [sessionIds, keys.map(([sessionId]) => sessionId), keys.map(([, eventId]) => eventId)],
  });
  const stateOf = new Map(states.rows.map((row) => [row.session_id, row]));
  const positionsOf = new Map(
    states.rows.map((row) => [
      row.session_id,
      new Map(row.result_ids.map((objectId, position) => [objectId, position])),
    ]),
  );
  const known = new Map<string, NewEvent>();
  for (const row of states.rows) {
    for (const event of row.known ?? []) known.set(eventKey(row.session_id, event.event_id), event);
  }

  // Decide each request in order; a later request sees the events of earlier ones as stored.
  const rows: { sessionId: string; event: NewEvent; position: number | null; now: number }[] = [];
  const outcomes = writes.map((write): Outcome<EventsAdded> => {
    try {
      const state = stateOf.get(write.sessionId);
      assertWritable(write.sessionId, state, write.now);
      const positions = positionsOf.get(write.sessionId);
      const fresh: NewEvent[] = [];
      let duplicates = 0;
      for (const event of write.events) {
        const previous = known.get(eventKey(write.sessionId, event.event_id));
        if (!previous) fresh.push(event);
        else if (isSameEvent(previous, event)) duplicates++;
        else throw eventConflict(write.sessionId, event.event_id);
      }
      for (const event of fresh) {
        known.set(eventKey(write.sessionId, event.event_id), event);
        const position = positions?.get(event.object_id) ?? null;
        rows.push({ sessionId: write.sessionId, event, position, now: write.now });
      }
      return { ok: true, value: { stored: fresh.length, duplicates } };
    } catch (error) {
      return { ok: false, error };
    }
  });
  if (rows.length === 0) return outcomes;

  // A group's insert fails whole on a key another process stored meanwhile (23505: the caller then runs
  // each request alone); a request alone skips such keys and compares them below, in its transaction.
  const onConflict =
    mode === 'group' ? '' : 'ON CONFLICT (session_id, event_id) DO NOTHING RETURNING session_id, event_id';
  const inserted = await client.query<{ session_id: string; event_id: string }>({
    name: `events-insert-${mode}`,
    // Arrival numbers follow the requests' order; rows are inserted in key order, so that two requests
    // with overlapping events lock them in the same order and cannot deadlock.
    text: `INSERT INTO events (session_id, event_id, arrival, object_id, event_type, position, created_at,
       created_at_given, meta, received_at)
     SELECT a.session_id, a.event_id, a.arrival, a.object_id, a.event_type, a.position, a.created_at,
       a.created_at_given, a.meta::json, a.received_at
     FROM (
       SELECT u.*, nextval('events_arrival_seq') AS arrival
       FROM ROWS FROM (json_to_recordset($1::json) AS (session_id text, event_id text, object_id text,
         event_type text, position int, created_at bigint, created_at_given boolean, meta text,
         received_at bigint)) WITH ORDINALITY
         AS u(session_id, event_id, object_id, event_type, position, created_at, created_at_given, meta,
           received_at, n)
       ORDER BY u.n
     ) a
     ORDER BY a.session_id, a.event_id
     ${onConflict}`,
    // One JSON parameter, meta as JSON text inside it, as for registrations.
    values: [
      JSON.stringify(
        rows.map((r) => ({
          session_id: r.sessionId,
          event_id: r.event.event_id,
          object_id: r.event.object_id,
          event_type: r.event.event_type,
          position: r.position,
          created_at: r.event.created_at,
          created_at_given: r.event.created_at_given,
          meta: toJson(r.event.meta),
          received_at: r.now,
        })),
      ),
    ],
  });
  if (mode === 'group' || inserted.rows.length === rows.length) return outcomes;

  // Another process stored some of these events between our read and our insert.
  const done = new Set(inserted.rows.map((r) => eventKey(r.session_id, r.event_id)));
  const raced = rows.filter((r) => !done.has(eventKey(r.sessionId, r.event.event_id)));
  const [write] = writes;
  const [outcome] = outcomes;
  if (!write || !outcome?.ok) return outcomes;
  const now = new Map(
    (
      await selectEventsByKey(
        client,
        raced.map((r) => [r.sessionId, r.event.event_id] as const),
      )
    ).map((e) => [eventKey(e.session_id, e.event_id), e.event]),
  );
  for (const row of raced) {
    const previous = now.get(eventKey(row.sessionId, row.event.event_id));
    // A different event under the same id: the request fails whole (the transaction rolls back).
    if (!previous || !isSameEvent(previous, row.event)) throw eventConflict(row.sessionId, row.event.event_id);
  }
  return [
    {
      ok: true,
      value: { stored: outcome.value.stored - raced.length, duplicates: outcome.value.duplicates + raced.length },
    },
  ];
}
