/** The SQLite store's consistency checks: SQLite's own, then the rules every store keeps. */
import type Database from 'better-sqlite3';
import { INTEGRITY_RULES } from '../store-helpers.js';

/** The store's rules on search results, which are keyed by their session's arrival number (sid) here. */
const RESULT_RULES_BY_ARRIVAL: readonly string[] = [
  `SELECT 'the results of session ' || s.session_id || ' are not numbered 0..n-1' AS problem
   FROM search_results r JOIN sessions s ON s.sid = r.sid
   GROUP BY r.sid HAVING min(r.position) <> 0 OR max(r.position) <> count(*) - 1 LIMIT 20`,
  `SELECT 'result ' || r.position || ' belongs to the unknown session number ' || r.sid AS problem
   FROM search_results r LEFT JOIN sessions s ON s.sid = r.sid WHERE s.sid IS NULL LIMIT 20`,
  `SELECT 'event ' || e.event_id || ' of session ' || e.session_id || ' has a position its object is not at' AS problem
   FROM events e WHERE e.position IS NOT NULL AND NOT EXISTS (
     SELECT 1 FROM sessions s JOIN search_results r ON r.sid = s.sid
     WHERE s.session_id = e.session_id AND r.position = e.position AND r.object_id = e.object_id) LIMIT 20`,
  // What analytics read instead of the results and the session ids (migration 5).
  `SELECT 'session ' || s.session_id || ' counts ' || s.result_count || ' results but has ' || count(r.sid) AS problem
   FROM sessions s LEFT JOIN search_results r ON r.sid = s.sid
   GROUP BY s.sid HAVING s.result_count <> count(r.sid) LIMIT 20`,
  `SELECT 'event ' || e.event_id || ' of session ' || e.session_id || ' carries another session number' AS problem
   FROM events e JOIN sessions s ON s.session_id = e.session_id WHERE e.sid IS NOT s.sid LIMIT 20`,
];

/** SQLite's own checks (`integrity_check`, `foreign_key_check`), then the store's rules. */
export function integrityProblems(db: Database.Database): string[] {
  const structure = (db.pragma('integrity_check') as { integrity_check: string }[])
    .map((r) => r.integrity_check)
    .filter((message) => message !== 'ok');
  const rules = [...INTEGRITY_RULES, ...RESULT_RULES_BY_ARRIVAL].flatMap((sql) =>
    db
      .prepare<[], { problem: string }>(sql)
      .all()
      .map((r) => r.problem),
  );
  return [...structure, ...foreignKeyProblems(db), ...rules];
}

/** SQLite's `foreign_key_check`: one message per row whose key has no parent row. */
export function foreignKeyProblems(db: Database.Database): string[] {
  return (db.pragma('foreign_key_check') as { table: string; rowid: number; parent: string }[]).map(
    (r) => `row ${r.rowid} of ${r.table} points to a missing row of ${r.parent}`,
  );
}
