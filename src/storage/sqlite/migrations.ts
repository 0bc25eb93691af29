/**
 * Versioned schema of the SQLite store. Append only: a released migration is never edited. Each runs in
 * the same transaction as the record of its version in `schema_migrations`.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'sessions, results, events and batches',
    sql: `
      CREATE TABLE batches (
        seq           INTEGER PRIMARY KEY,
        batch_id      TEXT NOT NULL UNIQUE,
        release_id    TEXT UNIQUE,
        created_at    INTEGER NOT NULL,
        released_at   INTEGER,
        sealed_at     INTEGER,
        -- Sessions registered in the batch; also the last session_number given out in it.
        session_count INTEGER NOT NULL DEFAULT 0,
        CHECK ((released_at IS NULL) = (release_id IS NULL))
      ) STRICT;
      -- Exactly one collecting batch at a time.
      CREATE UNIQUE INDEX batches_one_collecting ON batches ((released_at IS NULL)) WHERE released_at IS NULL;

      CREATE TABLE sessions (
        session_id       TEXT PRIMARY KEY,
        batch_id         TEXT NOT NULL REFERENCES batches (batch_id),
        session_number   INTEGER NOT NULL,
        search_query     TEXT NOT NULL, -- JSON: a string or a structured query
        search_meta      TEXT,          -- JSON object or NULL
        payload_filter   TEXT,
        sort_by          TEXT,
        user_id          TEXT,
        created_at       INTEGER NOT NULL,
        created_at_given INTEGER NOT NULL,
        registered_at    INTEGER NOT NULL,
        is_irrelevant    INTEGER NOT NULL DEFAULT 0,
        UNIQUE (batch_id, session_number)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE search_results (
        session_id TEXT NOT NULL REFERENCES sessions (session_id),
        position   INTEGER NOT NULL,
        object_id  TEXT NOT NULL,
        rank       REAL,
        meta       TEXT,
        PRIMARY KEY (session_id, position)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE events (
        -- rowid gives arrival order.
        session_id       TEXT NOT NULL REFERENCES sessions (session_id),
        event_id         TEXT NOT NULL,
        object_id        TEXT NOT NULL,
        event_type       TEXT NOT NULL,
        position         INTEGER,
        created_at       INTEGER NOT NULL,
        created_at_given INTEGER NOT NULL,
        meta             TEXT,
        received_at      INTEGER NOT NULL,
        UNIQUE (session_id, event_id)
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'sessions keyed by an arrival number, results by that number',
    // Session ids come from clients and are random (UUIDs). Keyed by them, every registration inserted its
    // session row and its 20 result rows at random places in two trees. Keyed by an arrival number, both
    // are appended at the end; only the session_id index takes a random insert, one entry per session.
    // Per session, with random ids: about 190 µs before, 75 µs after (bench/README.md).
    // SQLite's procedure for changing a table (https://sqlite.org/lang_altertable.html#otheralter): new
    // tables, copy, drop, rename, with foreign keys off (the runner turns them off and checks them after).
    sql: `
      CREATE TABLE sessions_by_arrival (
        sid              INTEGER PRIMARY KEY,
        session_id       TEXT NOT NULL UNIQUE,
        batch_id         TEXT NOT NULL REFERENCES batches (batch_id),
        session_number   INTEGER NOT NULL,
        search_query     TEXT NOT NULL,
        search_meta      TEXT,
        payload_filter   TEXT,
        sort_by          TEXT,
        user_id          TEXT,
        created_at       INTEGER NOT NULL,
        created_at_given INTEGER NOT NULL,
        registered_at    INTEGER NOT NULL,
        is_irrelevant    INTEGER NOT NULL DEFAULT 0,
        UNIQUE (batch_id, session_number)
      ) STRICT;
      INSERT INTO sessions_by_arrival (session_id, batch_id, session_number, search_query, search_meta,
        payload_filter, sort_by, user_id, created_at, created_at_given, registered_at, is_irrelevant)
      SELECT s.session_id, s.batch_id, s.session_number, s.search_query, s.search_meta, s.payload_filter, s.sort_by,
        s.user_id, s.created_at, s.created_at_given, s.registered_at, s.is_irrelevant
      FROM sessions s JOIN batches b ON b.batch_id = s.batch_id
      ORDER BY b.seq, s.session_number;

      CREATE TABLE results_by_arrival (
        sid       INTEGER NOT NULL REFERENCES sessions (sid),
        position  INTEGER NOT NULL,
        object_id TEXT NOT NULL,
        rank      REAL,
        meta      TEXT,
        PRIMARY KEY (sid, position)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO results_by_arrival (sid, position, object_id, rank, meta)
      SELECT s.sid, r.position, r.object_id, r.rank, r.meta
      FROM search_results r JOIN sessions_by_arrival s ON s.session_id = r.session_id
      ORDER BY s.sid, r.position;

      DROP TABLE search_results;
      DROP TABLE sessions;
      ALTER TABLE sessions_by_arrival RENAME TO sessions;
      ALTER TABLE results_by_arrival RENAME TO search_results;
    `,
  },
  {
    version: 3,
    name: 'a table for probing free space',
    // While the disk is full, readiness is probed with a write that needs space: a row of about a page,
    // inserted and deleted in one transaction. Never holds a row between probes.
    sql: 'CREATE TABLE storage_probe (id INTEGER PRIMARY KEY, filler BLOB NOT NULL) STRICT;',
  },
  {
    version: 4,
    name: 'fine-tuning tasks',
    // One row per task; JSON objects as text. batch_given: whether the create request named the batch (a
    // retry of a request that did not is compared with that, not with the batch released for it).
    sql: `
      CREATE TABLE tasks (
        seq                INTEGER PRIMARY KEY,
        id                 TEXT NOT NULL UNIQUE,
        idempotency_key    TEXT UNIQUE,
        status             TEXT NOT NULL,
        created_at         INTEGER NOT NULL,
        updated_at         INTEGER NOT NULL,
        embedding_model_id TEXT NOT NULL,
        fine_tuning_method TEXT,
        batch_id           TEXT REFERENCES batches (batch_id),
        batch_given        INTEGER NOT NULL,
        best_model_url     TEXT,
        best_model_id      TEXT,
        metadata           TEXT,
        deploy_as_blue     INTEGER,
        wait_on_conflict   INTEGER,
        method             TEXT NOT NULL,
        params             TEXT NOT NULL,
        detail             TEXT,
        attempts           INTEGER NOT NULL DEFAULT 0,
        worker_id          TEXT,
        lease_expires_at   INTEGER,
        metrics            TEXT,
        CHECK (status IN ('pending', 'processing', 'done', 'canceled', 'failed', 'refused')),
        CHECK ((status = 'processing') = (worker_id IS NOT NULL AND lease_expires_at IS NOT NULL))
      ) STRICT;
      CREATE INDEX tasks_by_status ON tasks (status, seq);
      CREATE INDEX tasks_by_batch ON tasks (batch_id, seq);
      CREATE INDEX tasks_by_model ON tasks (embedding_model_id, seq);
    `,
  },
  {
    version: 5,
    name: 'what batch analytics read: result counts, events by session number, saved figures',
    // Analytics read every session and event of a batch. A session's result count is kept in its row (known
    // at registration) instead of being counted from its results; events carry their session's arrival number
    // (sid) under an index that covers what analytics read, so a batch's events are one range of it (a batch's
    // sessions are a range of sids: one writer gives them out in order) instead of a search per session.
    // Figures of a sealed batch never change: they are computed once and saved, per query field.
    sql: `
      ALTER TABLE sessions ADD COLUMN result_count INTEGER NOT NULL DEFAULT 0;
      UPDATE sessions SET result_count = (SELECT count(*) FROM search_results r WHERE r.sid = sessions.sid);
      ALTER TABLE events ADD COLUMN sid INTEGER;
      UPDATE events SET sid = (SELECT s.sid FROM sessions s WHERE s.session_id = events.session_id);
      CREATE INDEX events_by_sid ON events (sid, event_type, position, created_at);
      CREATE TABLE batch_stats (
        batch_id    TEXT NOT NULL REFERENCES batches (batch_id),
        query_field TEXT NOT NULL, -- '' when structured queries have no query text
        figures     TEXT NOT NULL, -- JSON, as the stats service made it
        computed_at INTEGER NOT NULL,
        PRIMARY KEY (batch_id, query_field)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 6,
    name: 'events debugger records',
    // A bounded log of rejected (and sampled accepted) requests, secrets removed before they get here.
    // AUTOINCREMENT: seq never goes back, also once the trim has emptied the table, so a page's `before`
    // never meets newer records.
    sql: `
      CREATE TABLE debug_events (
        seq            INTEGER PRIMARY KEY AUTOINCREMENT,
        received_at    INTEGER NOT NULL,
        method         TEXT NOT NULL,
        route          TEXT NOT NULL,
        url            TEXT NOT NULL,
        status         INTEGER NOT NULL,
        code           TEXT,
        detail         TEXT,
        errors         TEXT NOT NULL, -- JSON array of {path, message}
        session_id     TEXT,
        request_id     TEXT NOT NULL,
        headers        TEXT NOT NULL, -- JSON object
        body           TEXT,
        body_bytes     INTEGER,
        body_truncated INTEGER NOT NULL,
        duration_ms    REAL NOT NULL
      ) STRICT;
      CREATE INDEX debug_events_by_session ON debug_events (session_id, seq);
      CREATE INDEX debug_events_by_code ON debug_events (code, seq);
      CREATE INDEX debug_events_by_time ON debug_events (received_at);
    `,
  },
];
