/**
 * Seeding of benchmark stores by bulk SQL against the real schema, shared by bench/run.ts and
 * bench/scenarios/release-million.ts. Seeded sessions land in the collecting batch exactly as registrations
 * through the service would (same columns, consecutive session numbers, the batch's session_count kept in
 * step), so the service reads them back like its own; registering them one by one through the API would take
 * far longer than the measurement itself.
 *
 * Session i (1-based) is `seed-<i, 8 digits>` with query `query i`, results `obj-0 ... obj-(R-1)` at
 * positions 0 ... R-1 with rank 1/(position+1), and events `e0 ... e(E-1)`, event j on `obj-(j mod R)`
 * (type `click`, position j mod R).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { ROOT } from './child-processes.js';

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export interface SeedShape {
  readonly sessions: number;
  readonly resultsPerSession: number;
  /** At most resultsPerSession (each event is on a result of its session). */
  readonly eventsPerSession: number;
  /** How many distinct queries the sessions share (`query ((i - 1) mod Q) + 1`); default one each. */
  readonly distinctQueries?: number;
}

/** The id of seeded session `i` (1-based). */
export const seededSessionId = (i: number): string => `seed-${String(i).padStart(8, '0')}`;

function checkShape(shape: SeedShape): void {
  if (shape.resultsPerSession < 1 || shape.eventsPerSession > shape.resultsPerSession || shape.eventsPerSession < 0) {
    throw new Error(`seed: 1 <= events per session (${shape.eventsPerSession}) <= results per session`);
  }
}

/** `clickstream migrate`: creates the schema and the collecting batch, as the service would. */
export function migrate(databaseUrl: string): void {
  const run = spawnSync(process.execPath, ['dist/cli/main.js', 'migrate', '--database-url', databaseUrl], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`migrate failed (${run.status ?? run.signal}): ${run.stderr}`);
}

/**
 * Migrates a new SQLite store at `path` and fills its collecting batch: one transaction of INSERT ... SELECT
 * from recursive CTEs, rows in key order; session_count = last number.
 */
export function seedSqlite(path: string, shape: SeedShape): void {
  checkShape(shape);
  migrate(`sqlite:${path}`);
  const db = new Database(path);
  try {
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
    const now = nowSeconds();
    db.transaction(() => {
      const batch = db
        .prepare<[], { batch_id: string; session_count: number }>(
          'SELECT batch_id, session_count FROM batches WHERE released_at IS NULL',
        )
        .get();
      if (!batch) throw new Error('migrate left no collecting batch');
      db.prepare(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @count)
         INSERT INTO sessions (session_id, batch_id, session_number, search_query, search_meta, payload_filter,
           sort_by, user_id, created_at, created_at_given, registered_at, result_count)
         SELECT printf('seed-%08d', i), @batch, @base + i, json_quote('query ' || ((i - 1) % @queries + 1)), '{"source":"seed"}', NULL,
           NULL, 'user-' || (i % 1000), @now, 1, @now, @per
         FROM n`,
      ).run({
        per: BigInt(shape.resultsPerSession),
        count: shape.sessions,
        batch: batch.batch_id,
        base: batch.session_count,
        now,
        queries: BigInt(shape.distinctQueries ?? shape.sessions),
      });
      // Counts bound as integers (a JS number binds as a real): 'obj-' || (j % @per) must read obj-0, not obj-0.0.
      db.prepare(
        `WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < @rows - 1)
         INSERT INTO search_results (sid, position, object_id, rank, meta)
         SELECT s.sid, j % @per, 'obj-' || (j % @per), 1.0 / (j % @per + 1), NULL
         FROM k JOIN sessions s ON s.session_id = printf('seed-%08d', j / @per + 1)`,
      ).run({ rows: BigInt(shape.sessions * shape.resultsPerSession), per: BigInt(shape.resultsPerSession) });
      if (shape.eventsPerSession > 0) {
        db.prepare(
          `WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < @rows - 1)
           INSERT INTO events (session_id, event_id, object_id, event_type, position, created_at, created_at_given,
             meta, received_at, sid)
           SELECT printf('seed-%08d', j / @per + 1), 'e' || (j % @per), 'obj-' || ((j % @per) % @results), 'click',
             (j % @per) % @results, @now, 1, NULL, @now, s.sid
           FROM k JOIN sessions s ON s.session_id = printf('seed-%08d', j / @per + 1)`,
        ).run({
          rows: BigInt(shape.sessions * shape.eventsPerSession),
          per: BigInt(shape.eventsPerSession),
          results: BigInt(shape.resultsPerSession),
          now,
        });
      }
      db.prepare('UPDATE batches SET session_count = session_count + ? WHERE released_at IS NULL').run(shape.sessions);
    }).immediate();
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

const SEED_ID = (column: string): string => `'seed-' || lpad(${column}::text, 8, '0')`;

/**
 * Migrates the (empty) PostgreSQL database at `url` and fills its collecting batch: INSERT ... SELECT FROM
 * generate_series; session numbers from the store's own sequence and number_base. Foreign keys are not
 * checked row by row (session_replication_role = replica): the rows are correct by construction. VACUUM
 * ANALYZE then leaves the tables as autovacuum would on a long-running store.
 */
export async function seedPostgres(url: string, shape: SeedShape, vacuum: boolean): Promise<void> {
  checkShape(shape);
  migrate(url);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const now = nowSeconds();
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    // Every session's results are the same JSON list (each result as reads return it).
    await client.query(
      `INSERT INTO sessions (session_id, batch_id, session_number, search_query, search_meta, payload_filter,
         sort_by, user_id, created_at, created_at_given, registered_at, results, result_ids)
       SELECT ${SEED_ID('i')}, b.batch_id, nextval('session_numbers') - b.number_base,
         to_json('query ' || ((i - 1) % $4::int + 1)),
         '{"source":"seed"}'::json, NULL, NULL, 'user-' || (i % 1000), $2, true, $2, r.results, r.ids
       FROM batches b, generate_series(1, $1::int) AS i,
         (SELECT json_agg(json_build_object('object_id', 'obj-' || p, 'position', p, 'rank', (1.0 / (p + 1))::float8,
            'meta', NULL) ORDER BY p) AS results, array_agg('obj-' || p ORDER BY p) AS ids
          FROM generate_series(0, $3::int - 1) AS p) r
       WHERE b.released_at IS NULL`,
      [shape.sessions, now, shape.resultsPerSession, shape.distinctQueries ?? shape.sessions],
    );
    if (shape.eventsPerSession > 0) {
      await client.query(
        `INSERT INTO events (session_id, event_id, object_id, event_type, position, created_at, created_at_given,
           meta, received_at)
         SELECT ${SEED_ID('i')}, 'e' || j, 'obj-' || (j % $3::int), 'click', j % $3::int, $2, true, NULL, $2
         FROM generate_series(1, $1::int) AS i, generate_series(0, $4::int - 1) AS j`,
        [shape.sessions, now, shape.resultsPerSession, shape.eventsPerSession],
      );
    }
    await client.query('COMMIT');
    if (vacuum) await client.query('VACUUM (ANALYZE) sessions, events, batches');
    await client.query('CHECKPOINT');
  } finally {
    await client.end();
  }
}

/** A new, empty database on the server of `adminUrl`; returns its URL and how to drop it. */
export async function createPostgresDatabase(
  adminUrl: string,
  prefix: string,
): Promise<{ readonly url: string; readonly drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name ${name}: lower-case letters, digits, _`);
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const dropper = new pg.Client({ connectionString: adminUrl });
      await dropper.connect();
      try {
        await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  };
}
