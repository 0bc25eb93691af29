import type { Migration } from '../sqlite/migrations.js';

/**
 * Versioned schema of the PostgreSQL store, laid out for Citus: `sessions` (with their search results,
 * since migration 4) and `events` are keyed by `session_id` (their distribution column; every write of a
 * request touches one session), `batches` is a small reference table. Registration never writes
 * `batches`: a session's number comes from a sequence, relative to its batch's `number_base`. Append only:
 * a released migration is never edited.
 */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'sessions, results, events and batches',
    sql: `
      CREATE SEQUENCE session_numbers AS bigint;

      CREATE TABLE batches (
        seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        batch_id      text NOT NULL UNIQUE,
        release_id    text UNIQUE,
        created_at    bigint NOT NULL,
        released_at   bigint,
        sealed_at     bigint,
        -- session_number = nextval('session_numbers') - number_base: read at registration, never written.
        number_base   bigint NOT NULL,
        -- Frozen at release; counted while collecting.
        session_count bigint,
        CHECK ((released_at IS NULL) = (release_id IS NULL))
      );
      -- Exactly one collecting batch at a time.
      CREATE UNIQUE INDEX batches_one_collecting ON batches ((released_at IS NULL)) WHERE released_at IS NULL;

      CREATE TABLE sessions (
        session_id       text PRIMARY KEY,
        batch_id         text NOT NULL REFERENCES batches (batch_id), -- dropped by migration 2
        session_number   bigint NOT NULL,
        search_query     json NOT NULL,
        search_meta      json,
        payload_filter   json,
        sort_by          json,
        user_id          text,
        created_at       bigint NOT NULL,
        created_at_given boolean NOT NULL,
        registered_at    bigint NOT NULL,
        is_irrelevant    boolean NOT NULL DEFAULT false
      );
      CREATE INDEX sessions_by_batch ON sessions (batch_id, session_number);

      CREATE TABLE search_results (
        session_id text NOT NULL REFERENCES sessions (session_id),
        position   integer NOT NULL,
        object_id  text NOT NULL,
        rank       double precision,
        meta       json,
        PRIMARY KEY (session_id, position)
      );

      CREATE TABLE events (
        session_id       text NOT NULL REFERENCES sessions (session_id),
        event_id         text NOT NULL,
        arrival          bigserial,
        object_id        text NOT NULL,
        event_type       text NOT NULL,
        position         integer,
        created_at       bigint NOT NULL,
        created_at_given boolean NOT NULL,
        meta             json,
        received_at      bigint NOT NULL,
        PRIMARY KEY (session_id, event_id)
      );
    `,
  },
  {
    version: 2,
    name: 'no foreign key from sessions to batches',
    // The key check took a share lock on the collecting batch's row for every registration: a shared hot
    // row (MultiXact churn) on the ingest path. The batch id comes from the locked read of batches anyway.
    sql: 'ALTER TABLE sessions DROP CONSTRAINT sessions_batch_id_fkey;',
  },
  {
    version: 3,
    name: 'no foreign keys from results and events to sessions',
    // Each key check ran a trigger that locked the parent session row (FOR KEY SHARE) for every child row:
    // 20 per registration of 20 results, one per event. Sessions are never deleted, results are inserted
    // in the statement that inserts their session, and events only after their session was read, so the
    // keys guarded against bugs only; `clickstream check` (INTEGRITY_RULES) looks for orphans instead.
    // Measured by hand (wrk, 64 connections, 20 results): registrations 3,700 -> 5,000 req/s.
    sql: `ALTER TABLE search_results DROP CONSTRAINT search_results_session_id_fkey;
      ALTER TABLE events DROP CONSTRAINT events_session_id_fkey;`,
  },
  {
    version: 4,
    name: 'search results in their session row',
    // A row per result made a registration of 20 results 21 rows and their index entries: about 190 us of
    // server CPU per registration, against about 80 us with the results as one JSON value in the session's
    // row (bench/README.md). They are only ever read and written with their session. Each element is the
    // result as reads return it, in position order. Their object ids are also kept as an array, in the same
    // order: an event's position is looked up there, without unpacking the results' JSON (which may hold
    // anything, meta included, and which PostgreSQL's JSON operators refuse when it holds \u0000 or a lone
    // surrogate; ids cannot). The copy rewrites every session row once: 126 s for a million sessions of 20
    // results on a 2-core machine, while no process of the service may run.
    sql: `ALTER TABLE sessions ADD COLUMN results json, ADD COLUMN result_ids text[];
      UPDATE sessions s SET (results, result_ids) = (
        SELECT coalesce(json_agg(json_build_object('object_id', r.object_id, 'position', r.position, 'rank', r.rank,
                 'meta', r.meta) ORDER BY r.position), '[]'),
               coalesce(array_agg(r.object_id ORDER BY r.position), '{}')
        FROM search_results r WHERE r.session_id = s.session_id);
      ALTER TABLE sessions ALTER COLUMN results SET NOT NULL, ALTER COLUMN result_ids SET NOT NULL,
        ADD CONSTRAINT sessions_results_list CHECK (json_typeof(results) = 'array');
      DROP TABLE search_results;`,
  },
  {
    version: 5,
    name: 'a table for probing free space',
    // While the disk is full, readiness is probed with a write that needs space: a row of most of a page,
    // inserted, then the table truncated, in one transaction. Its values stay in the row (PLAIN: never
    // compressed, never moved to a TOAST table), and the row goes into a file that TRUNCATE left empty:
    // each probe has to add a block to a file. Never holds a row between probes.
    sql: `CREATE TABLE storage_probe (filler bytea NOT NULL);
      ALTER TABLE storage_probe ALTER COLUMN filler SET STORAGE PLAIN;`,
  },
  {
    version: 6,
    name: 'fine-tuning tasks',
    // A small table, like batches (a reference table under Citus). batch_given: whether the create request
    // named the batch (a retry of a request that did not is compared with that, not with the batch released
    // for it). Claims pick the oldest pending row with FOR UPDATE SKIP LOCKED.
    sql: `
      CREATE TABLE tasks (
        seq                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id                 text NOT NULL UNIQUE,
        idempotency_key    text UNIQUE,
        status             text NOT NULL,
        created_at         bigint NOT NULL,
        updated_at         bigint NOT NULL,
        embedding_model_id text NOT NULL,
        fine_tuning_method text,
        batch_id           text REFERENCES batches (batch_id),
        batch_given        boolean NOT NULL,
        best_model_url     text,
        best_model_id      text,
        metadata           json,
        deploy_as_blue     boolean,
        wait_on_conflict   boolean,
        method             text NOT NULL,
        params             json NOT NULL,
        detail             text,
        attempts           integer NOT NULL DEFAULT 0,
        worker_id          text,
        lease_expires_at   bigint,
        metrics            json,
        CHECK (status IN ('pending', 'processing', 'done', 'canceled', 'failed', 'refused')),
        CHECK ((status = 'processing') = (worker_id IS NOT NULL AND lease_expires_at IS NOT NULL))
      );
      CREATE INDEX tasks_by_status ON tasks (status, seq);
      CREATE INDEX tasks_by_batch ON tasks (batch_id, seq);
      CREATE INDEX tasks_by_model ON tasks (embedding_model_id, seq);
    `,
  },
  {
    version: 7,
    name: 'what batch analytics read: events by arrival time, saved figures',
    // Analytics read every event of a batch. They arrive between the batch's creation and its seal, and are
    // appended in arrival order: a BRIN index on received_at (a few pages, nearly free to keep up) narrows
    // the scan to that window, whatever the history holds; irrelevant sessions are counted from a partial
    // index (flags are rare). Figures of a sealed batch never change: they are
    // computed once and saved, per query field.
    // The two indexes are built in the migration's transaction, which holds writes to events and sessions
    // meanwhile (a BRIN index reads the table once: seconds per million events): like every migration, it
    // runs while no process of the older version does.
    sql: `
      CREATE INDEX events_by_received ON events USING brin (received_at);
      CREATE INDEX sessions_irrelevant_by_batch ON sessions (batch_id) WHERE is_irrelevant;
      CREATE TABLE batch_stats (
        batch_id    text NOT NULL REFERENCES batches (batch_id),
        query_field text NOT NULL, -- '' when structured queries have no query text
        figures     text NOT NULL, -- JSON, as the stats service made it
        computed_at bigint NOT NULL,
        PRIMARY KEY (batch_id, query_field)
      );
    `,
  },
  {
    // 8 here and 6 in SQLite's list: the versions of each backend are its own (and need not be contiguous).
    version: 8,
    name: 'events debugger records',
    // A bounded log of rejected (and sampled accepted) requests, secrets removed before they get here. A small
    // table of this node (a local table under Citus), trimmed by every append.
    sql: `
      CREATE TABLE debug_events (
        seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        received_at    bigint NOT NULL,
        method         text NOT NULL,
        route          text NOT NULL,
        url            text NOT NULL,
        status         integer NOT NULL,
        code           text,
        detail         text,
        errors         json NOT NULL,
        session_id     text,
        request_id     text NOT NULL,
        headers        json NOT NULL,
        body           text,
        body_bytes     bigint,
        body_truncated boolean NOT NULL,
        duration_ms    double precision NOT NULL
      );
      CREATE INDEX debug_events_by_session ON debug_events (session_id, seq);
      CREATE INDEX debug_events_by_code ON debug_events (code, seq);
      CREATE INDEX debug_events_by_time ON debug_events (received_at);
    `,
  },
];
