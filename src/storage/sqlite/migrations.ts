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
];
