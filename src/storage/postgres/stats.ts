/**
 * The PostgreSQL store's batch analytics (StatsStore): three aggregations in one snapshot, the session side
 * (per query, hour, result count and in all, with GROUPING SETS, joined with each session's clicks), the
 * event side (per type and hour) and the clicked positions. A batch's events are read from its time window
 * (arrival between its creation and its seal) through the BRIN index of migration 7, not by a search per
 * session.
 */
import type pg from 'pg';
import type { BatchAggregate, QueryAggregate, StatsStore } from '../stats-store.js';
import type { PgConnection } from './connection.js';

// Hash aggregates over a million sessions spill to disk with the default 4 MB (three times slower).
const WORK_MEM = '256MB';
const WINDOW_MARGIN_SECONDS = 300;

interface WindowRow {
  created_at: number | null;
  until: number | null;
}

interface SessionSideRow {
  set: number;
  q: string | null;
  hour: number | null;
  rc: number | null;
  sessions: number;
  irrelevant: number;
  searches: number;
  clicked: number;
  zero: number;
  top_sum: number | null;
  top_count: number;
}

interface EventSideRow {
  set: number;
  event_type: string | null;
  hour: number | null;
  events: number;
  clicks: number;
}

// Grouping set bits (GROUPING(q, hour, rc)): 3 = by q, 5 = by hour, 6 = by rc, 7 = all.
const SESSION_SIDE = `
  WITH c AS (
    SELECT session_id, min(position) AS top_pos
    FROM events
    WHERE received_at BETWEEN $2 AND $3 AND event_type = 'click'
    GROUP BY session_id
  )
  SELECT GROUPING(s.search_query::text, s.created_at / 3600, cardinality(s.result_ids)) AS set,
    s.search_query::text AS q, s.created_at / 3600 * 3600 AS hour, cardinality(s.result_ids) AS rc,
    count(*)::int AS sessions,
    count(*) FILTER (WHERE s.is_irrelevant)::int AS irrelevant,
    count(*) FILTER (WHERE NOT s.is_irrelevant)::int AS searches,
    count(c.session_id) FILTER (WHERE NOT s.is_irrelevant)::int AS clicked,
    count(*) FILTER (WHERE NOT s.is_irrelevant AND cardinality(s.result_ids) = 0)::int AS zero,
    sum(c.top_pos) FILTER (WHERE NOT s.is_irrelevant)::float8 AS top_sum,
    count(c.top_pos) FILTER (WHERE NOT s.is_irrelevant)::int AS top_count
  FROM sessions s LEFT JOIN c ON c.session_id = s.session_id
  WHERE s.batch_id = $1
  GROUP BY GROUPING SETS ((s.search_query::text), (s.created_at / 3600), (cardinality(s.result_ids)), ())`;

// Grouping set bits (GROUPING(event_type, hour)): 1 = by type, 2 = by hour.
const EVENT_SIDE = `
  SELECT GROUPING(e.event_type, e.created_at / 3600) AS set,
    e.event_type, e.created_at / 3600 * 3600 AS hour,
    count(*)::int AS events,
    count(*) FILTER (WHERE e.event_type = 'click')::int AS clicks
  FROM events e JOIN sessions s ON s.session_id = e.session_id
  WHERE e.received_at BETWEEN $2 AND $3 AND s.batch_id = $1 AND NOT s.is_irrelevant
  GROUP BY GROUPING SETS ((e.event_type), (e.created_at / 3600))`;

// Each search once per position it clicked. Apart from EVENT_SIDE: a count(DISTINCT) among its grouping
// sets made PostgreSQL sort every event for all of them (13 s against 9 s for both, a million sessions).
const CLICKED_POSITIONS = `
  SELECT position, count(*)::int AS searches FROM (
    SELECT e.session_id, e.position
    FROM events e JOIN sessions s ON s.session_id = e.session_id
    WHERE e.received_at BETWEEN $2 AND $3 AND s.batch_id = $1 AND NOT s.is_irrelevant
      AND e.event_type = 'click' AND e.position IS NOT NULL
    GROUP BY e.session_id, e.position) p
  GROUP BY position`;

// Whether an event of the batch in its window was written by a transaction the aggregate's snapshot could
// not see (an xid from the snapshot's xmin on; age() compares xids across wraparound, and a frozen row is
// the oldest of all), and the batch's irrelevant sessions (a partial index of migration 7). The cheap test
// on xmin comes before the test of each event's session.
const CHANGES = `
  SELECT EXISTS (
      SELECT 1 FROM events e
      WHERE e.received_at BETWEEN $2 AND $3 AND age(e.xmin) < age($4::text::xid)
        AND EXISTS (SELECT 1 FROM sessions s WHERE s.session_id = e.session_id AND s.batch_id = $1)) AS events,
    (SELECT count(*)::int FROM sessions WHERE batch_id = $1 AND is_irrelevant) AS irrelevant`;

/**
 * What an aggregate saw: its snapshot's xmin (every row it could not see was written by a transaction from
 * there on; rows of later transactions it could see make a false alarm, a new aggregation, never a missed
 * write), the window its events were read in, and how many of the batch's sessions were irrelevant (flags
 * are only ever set).
 */
interface PostgresWatermark {
  readonly xmin: string;
  readonly from: number;
  readonly until: number;
  readonly irrelevant: number;
}

export class PostgresStats implements StatsStore {
  constructor(private readonly db: PgConnection) {}

  changedSince(batchId: string, watermark: string): Promise<boolean> {
    const seen = JSON.parse(watermark) as PostgresWatermark;
    return this.db.snapshot(async (client) => {
      const values = [batchId, seen.from, seen.until, seen.xmin];
      const [now] = (await client.query<{ events: boolean; irrelevant: number }>(CHANGES, values)).rows;
      return now?.events !== false || now.irrelevant !== seen.irrelevant;
    });
  }

  aggregateBatch(batchId: string): Promise<BatchAggregate | null> {
    return this.db.snapshot(async (client) => {
      await client.query(`SET LOCAL work_mem = '${WORK_MEM}'`);
      const window = await this.window(client, batchId);
      if (!window) return null;
      const values = [batchId, window.from, window.until];
      const sessions = (await client.query<SessionSideRow>(SESSION_SIDE, values)).rows;
      const events = (await client.query<EventSideRow>(EVENT_SIDE, values)).rows;
      const positions = (await client.query<{ position: number; searches: number }>(CLICKED_POSITIONS, values)).rows;
      const aggregate = toAggregate(sessions, events, positions);
      const [snapshot] = (
        await client.query<{ xmin: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin')
      ).rows;
      // The 32 bits of an xid (xid8 counts wraparounds above them).
      const xmin = (BigInt(snapshot?.xmin ?? '0') % 2n ** 32n).toString();
      const watermark: PostgresWatermark = {
        xmin,
        from: window.from,
        until: window.until,
        irrelevant: aggregate.irrelevant,
      };
      return { ...aggregate, watermark: JSON.stringify(watermark) };
    });
  }

  async savedFigures(batchId: string, key: string): Promise<string | null> {
    const [row] = await this.db.query<{ figures: string }>(
      'SELECT figures FROM batch_stats WHERE batch_id = $1 AND query_field = $2',
      [batchId, key],
    );
    return row?.figures ?? null;
  }

  async saveFigures(batchId: string, key: string, figures: string, now: number, replace = false): Promise<void> {
    const onConflict = replace
      ? 'ON CONFLICT (batch_id, query_field) DO UPDATE SET figures = excluded.figures, computed_at = excluded.computed_at'
      : 'ON CONFLICT DO NOTHING';
    await this.db.query(
      `INSERT INTO batch_stats (batch_id, query_field, figures, computed_at) VALUES ($1, $2, $3, $4) ${onConflict}`,
      [batchId, key, figures, now],
    );
  }

  /** When the batch's events can have arrived: from its creation to its seal (or to now, far ahead). */
  private async window(client: pg.PoolClient, batchId: string): Promise<{ from: number; until: number } | null> {
    const { rows } = await client.query<WindowRow>(
      'SELECT created_at, sealed_at AS until FROM batches WHERE batch_id = $1',
      [batchId],
    );
    const [row] = rows;
    if (!row) return null;
    // Events are taken until the seal; the batch's sessions may have been created (client time) before the
    // batch, but are received after its creation, and so are their events.
    // A margin covers an event whose request took its time just before the release that made the batch.
    return {
      from: (row.created_at ?? 0) - WINDOW_MARGIN_SECONDS,
      until: row.until ?? Number.MAX_SAFE_INTEGER,
    };
  }
}

function toAggregate(
  sessions: readonly SessionSideRow[],
  events: readonly EventSideRow[],
  clickedPositions: readonly { position: number; searches: number }[],
): Omit<BatchAggregate, 'watermark'> {
  const total = sessions.find((row) => row.set === 7);
  const queries: QueryAggregate[] = [];
  const resultCounts: { results: number; searches: number }[] = [];
  const searchHours: { hour: number; searches: number }[] = [];
  for (const row of sessions) {
    if (row.searches === 0) continue;
    if (row.set === 3 && row.q !== null) {
      queries.push({ query: row.q, searches: row.searches, clicked: row.clicked, zeroResults: row.zero });
    } else if (row.set === 5 && row.hour !== null) {
      searchHours.push({ hour: row.hour, searches: row.searches });
    } else if (row.set === 6 && row.rc !== null) {
      resultCounts.push({ results: row.rc, searches: row.searches });
    }
  }
  const eventsByType: { eventType: string; count: number }[] = [];
  const clickHours: { hour: number; clicks: number }[] = [];
  let clicks = 0;
  for (const row of events) {
    if (row.set === 1 && row.event_type !== null) {
      eventsByType.push({ eventType: row.event_type, count: row.events });
      clicks += row.clicks;
    } else if (row.set === 2 && row.hour !== null && row.clicks > 0) {
      clickHours.push({ hour: row.hour, clicks: row.clicks });
    }
  }
  return {
    sessions: total?.sessions ?? 0,
    irrelevant: total?.irrelevant ?? 0,
    searches: total?.searches ?? 0,
    clicked: total?.clicked ?? 0,
    zeroResults: total?.zero ?? 0,
    clicks,
    topClickPositionSum: total?.top_sum ?? 0,
    topClickCount: total?.top_count ?? 0,
    resultCounts,
    clickedPositions,
    eventsByType,
    queries,
    searchHours,
    clickHours,
  };
}
