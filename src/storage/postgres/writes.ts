/**
 * The PostgreSQL store's writes: the group commit pipelines of registrations and events, and the flag and
 * release writes.
 */
import { newBatchId, type BatchRecord } from '../../domain/batch.js';
import type { NewEvent } from '../../domain/event.js';
import type { NewSession } from '../../domain/session.js';
import type { StoreObserver } from '../driver.js';
import { GroupQueue, rejectGroup, settleGroup, type GroupEntry } from '../group-queue.js';
import type { SpaceWatch } from '../store-failures.js';
import { assertWritable, noSessionsToRelease } from '../store-helpers.js';
import type { PgConnection } from './connection.js';
import { classifyPostgresError } from './errors.js';
import type { PostgresReads } from './reads.js';
import { NUMBER_BASE, RELEASE_LOCK } from './rows.js';
import {
  addEventsTogether,
  insertSessions,
  type EventsAdded,
  type EventWrite,
  type Registered,
  type Registration,
} from './statements.js';

/** Most requests sharing one transaction. */
const MAX_GROUP = 256;

export class PostgresWrites {
  private readonly registrations = new GroupQueue<Registration, Registered>(
    (group) => this.registerGroup(group),
    MAX_GROUP,
  );
  private readonly eventWrites = new GroupQueue<EventWrite, EventsAdded>(
    (group) => this.addEventsGroup(group),
    MAX_GROUP,
  );
  /**
   * The shared release lock, held until commit: a release waits for a registration group, or the group
   * sees the release's new batch. Taken in the same round trip as BEGIN (both keys are this store's
   * integers).
   */
  private readonly registrationBegin: string;

  constructor(
    private readonly db: PgConnection,
    private readonly reads: PostgresReads,
    private readonly space: SpaceWatch,
    private readonly lockKey: number,
    private readonly observer: StoreObserver,
  ) {
    this.registrationBegin = `BEGIN; SELECT pg_advisory_xact_lock_shared(${RELEASE_LOCK}, ${lockKey})`;
  }

  registerSession(session: NewSession, now: number): Promise<Registered> {
    return this.registrations.push({ session, now });
  }

  /**
   * Registers a group of sessions in one transaction (insertSessions). If it fails for one registration's
   * own data (a trigger, a constraint), each runs again alone, so that it fails alone.
   */
  private async registerGroup(group: readonly GroupEntry<Registration, Registered>[]): Promise<void> {
    const started = performance.now();
    let answers: Registered[];
    try {
      answers = await this.db.transaction(
        (client) =>
          insertSessions(
            client,
            group.map((entry) => entry.input),
          ),
        this.registrationBegin,
      );
    } catch (error) {
      if (group.length === 1 || classifyPostgresError(error) !== 'own') rejectGroup(group, error);
      else await this.oneByOne(group, (input) => this.registerAlone(input));
      return;
    }
    this.space.written();
    this.committed(group.length, started);
    group.forEach((entry, index) => {
      const answer = answers[index];
      if (answer) entry.resolve(answer);
      else entry.reject(new Error('registration answer missing'));
    });
  }

  private async registerAlone(input: Registration): Promise<Registered> {
    const [answer] = await this.db.transaction((client) => insertSessions(client, [input]), this.registrationBegin);
    if (!answer) throw new Error('registration answer missing');
    return answer;
  }

  addEvents(sessionId: string, events: readonly NewEvent[], now: number): Promise<EventsAdded> {
    return this.eventWrites.push({ sessionId, events, now });
  }

  /**
   * Adds the events of a group of requests in two statements (addEventsTogether); each request succeeds
   * or fails alone. The insert is a single statement, so it commits whole or not at all: if it fails for a
   * request's own data, or because another process stored one of the same events meanwhile, nothing of
   * the group is stored, and each request runs again on its own, in a transaction. Two round trips
   * instead of a transaction's five: on a busy server each one waits for the event loop, and five of them
   * were most of a group's time (bench/README.md).
   */
  private async addEventsGroup(group: readonly GroupEntry<EventWrite, EventsAdded>[]): Promise<void> {
    const started = performance.now();
    try {
      const outcomes = await this.db.withClient((client) =>
        addEventsTogether(
          client,
          group.map((e) => e.input),
          'group',
        ),
      );
      this.space.written();
      this.committed(group.length, started);
      settleGroup(group, outcomes);
    } catch (error) {
      // Also for a group of one: alone, a request compares the events another process stored meanwhile.
      if (classifyPostgresError(error) !== 'own') rejectGroup(group, error);
      else await this.oneByOne(group, (input) => this.addEventsAlone(input));
    }
  }

  private async addEventsAlone(input: EventWrite): Promise<EventsAdded> {
    const [outcome] = await this.db.transaction((client) => addEventsTogether(client, [input], 'alone'));
    if (!outcome) throw new Error('events outcome missing');
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }

  /**
   * Runs the writes of a group that failed for one write's own data again, each alone, one after another:
   * a group holds up to MAX_GROUP requests, and run at once they would queue for the pool's few
   * connections long enough to time out (503) while doing nothing wrong. A failure of the store fails the
   * writes not run yet with it, without trying each.
   */
  private async oneByOne<I, R>(group: readonly GroupEntry<I, R>[], alone: (input: I) => Promise<R>): Promise<void> {
    for (const [index, entry] of group.entries()) {
      const started = performance.now();
      try {
        entry.resolve(await alone(entry.input));
        this.space.written();
        // Each write that commits alone is a group of one.
        this.committed(1, started);
      } catch (error) {
        if (classifyPostgresError(error) === 'own') {
          entry.reject(error);
          continue;
        }
        rejectGroup(group.slice(index), error);
        return;
      }
    }
  }

  /** Reports a group that committed (StoreObserver), timed from before its transaction began. */
  private committed(size: number, started: number): void {
    this.observer.groupCommitted(size, (performance.now() - started) / 1000);
  }

  async markIrrelevant(sessionId: string, now: number): Promise<void> {
    await this.db.transaction(async (client) => {
      const { rows } = await client.query<{ sealed_at: number | null; is_irrelevant: boolean }>(
        `SELECT b.sealed_at, s.is_irrelevant FROM sessions s JOIN batches b ON b.batch_id = s.batch_id
         WHERE s.session_id = $1 FOR NO KEY UPDATE OF s`,
        [sessionId],
      );
      const row = rows[0];
      if (row?.is_irrelevant) return;
      assertWritable(sessionId, row, now);
      await client.query('UPDATE sessions SET is_irrelevant = true WHERE session_id = $1', [sessionId]);
    });
    this.space.written();
  }

  async releaseBatch(releaseId: string, now: number, graceSeconds: number): Promise<BatchRecord> {
    // A retry is answered without the lock, so that retries never pause ingestion.
    const previous = await this.reads.releasedAs(releaseId);
    if (previous) return previous;
    const batchId = await this.db.transaction(async (client): Promise<string> => {
      // Exclusive: waits for registrations in flight; registrations that start later wait for this commit.
      // Nothing under this lock depends on the batch's size, so ingestion pauses for milliseconds only.
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [RELEASE_LOCK, this.lockKey]);
      const raced = await client.query<{ batch_id: string }>('SELECT batch_id FROM batches WHERE release_id = $1', [
        releaseId,
      ]);
      if (raced.rows[0]) return raced.rows[0].batch_id;
      const collecting = await client.query<{ batch_id: string }>(
        'SELECT batch_id FROM batches WHERE released_at IS NULL',
      );
      const current = collecting.rows[0]?.batch_id;
      if (current === undefined)
        throw new Error('no collecting batch: the store was not opened through PostgresStore.open');
      const any = await client.query('SELECT 1 FROM sessions WHERE batch_id = $1 LIMIT 1', [current]);
      if (any.rows.length === 0) throw noSessionsToRelease();
      await client.query('UPDATE batches SET released_at = $1, sealed_at = $2, release_id = $3 WHERE batch_id = $4', [
        now,
        now + graceSeconds,
        releaseId,
        current,
      ]);
      await client.query(`INSERT INTO batches (batch_id, created_at, number_base) VALUES ($1, $2, ${NUMBER_BASE})`, [
        newBatchId(now),
        now,
      ]);
      return current;
    });
    this.space.written();
    const batch = await this.reads.getBatch(batchId);
    if (!batch) throw new Error(`released batch ${batchId} cannot be read`);
    return batch;
  }

  /**
   * A write that needs space, for SpaceWatch: a row of most of a page inserted into the probe table, which
   * the previous probe left empty (migration 5), so that a block must be added to its file; then the
   * table is emptied again, and the transaction committed.
   */
  probeSpace(): Promise<void> {
    return this.db.transaction(async (client) => {
      await client.query(
        `INSERT INTO storage_probe (filler) SELECT decode(repeat('00', current_setting('block_size')::int - 400), 'hex')`,
      );
      await client.query('TRUNCATE storage_probe');
    });
  }

  /** Settles every write queued so far. */
  async flush(): Promise<void> {
    await Promise.all([this.registrations.flush(), this.eventWrites.flush()]);
  }
}
