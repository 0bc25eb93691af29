/** The PostgreSQL store's consistency checks: the rules every store keeps, and its own on search results. */
import type pg from 'pg';
import type { StoredSearchResult } from '../../schemas/records.js';
import { INTEGRITY_RULES } from '../store-helpers.js';
import type { PgConnection } from './connection.js';

/** The store's rules, read in one snapshot. PostgreSQL keeps its own structures consistent (WAL). */
export function integrityProblems(db: PgConnection): Promise<string[]> {
  return db.snapshot(async (client) => {
    const problems: string[] = [];
    for (const sql of INTEGRITY_RULES) {
      problems.push(...(await client.query<{ problem: string }>(sql)).rows.map((r) => r.problem));
    }
    return [...problems, ...(await resultProblems(client))];
  });
}

/** Sessions read at a time by `resultProblems`. */
const CHECK_PAGE = 1000;

/**
 * The rules on search results kept in their session's row, at most 20 problems of each kind: the results
 * are a list of {object_id, position, ...} numbered 0..n-1, the row's result ids are their object ids in
 * order, and an event's position is where its object is.
 * Checked here, page by page, rather than in SQL: PostgreSQL's JSON operators refuse a value holding
 * \u0000 or a lone surrogate anywhere in it, which a result's meta may.
 */
async function resultProblems(client: pg.ClientBase): Promise<string[]> {
  const found = { list: [] as string[], numbering: [] as string[], ids: [] as string[], positions: [] as string[] };
  const report = (kind: keyof typeof found, problem: string): void => {
    if (found[kind].length < 20) found[kind].push(problem);
  };
  for (let after = ''; ;) {
    const { rows } = await client.query<{ session_id: string; results: unknown; result_ids: string[] }>(
      'SELECT session_id, results, result_ids FROM sessions WHERE session_id > $1 ORDER BY session_id LIMIT $2',
      [after, CHECK_PAGE],
    );
    // Each session's object at each position, as its results say.
    const objectAt = new Map<string, Map<unknown, string>>();
    for (const { session_id: id, results, result_ids: ids } of rows) {
      if (!isResultList(results)) {
        report('list', `the results of session ${id} are not a list of results`);
        continue;
      }
      if (results.some((r, index) => r.position !== index)) {
        report('numbering', `the results of session ${id} are not numbered 0..n-1`);
      }
      if (ids.length !== results.length || results.some((r, index) => r.object_id !== ids[index])) {
        report('ids', `the result ids of session ${id} are not its results' object ids`);
      }
      objectAt.set(id, new Map(results.map((r) => [r.position, r.object_id])));
    }
    const events = await client.query<{ session_id: string; event_id: string; object_id: string; position: number }>(
      `SELECT session_id, event_id, object_id, position FROM events
       WHERE position IS NOT NULL AND session_id = ANY($1::text[])`,
      [[...objectAt.keys()]],
    );
    for (const e of events.rows) {
      if (objectAt.get(e.session_id)?.get(e.position) !== e.object_id) {
        report('positions', `event ${e.event_id} of session ${e.session_id} has a position its object is not at`);
      }
    }
    const last = rows.at(-1);
    if (!last || rows.length < CHECK_PAGE) break;
    after = last.session_id;
  }
  return Object.values(found).flat();
}

function isResultList(value: unknown): value is StoredSearchResult[] {
  return (
    Array.isArray(value) &&
    value.every(
      (r: unknown) => typeof r === 'object' && r !== null && 'object_id' in r && typeof r.object_id === 'string',
    )
  );
}
