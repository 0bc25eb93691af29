/**
 * The floor of bench/run.ts: the service's own HTTP application (`buildApp`: routing, the body parser and
 * its checks, schema validation, the domain rules, the security hooks, the services, serialisation, the
 * logger at the service's level) over a store that keeps nothing and answers every write at once. It is
 * not a store and serves nothing but this measurement: its req/s over the ceiling's is the best ratio any
 * store could give the service on this machine, so that the benchmark shows how much of the gap to the
 * ceiling is storage and how much is the HTTP layer.
 *
 * Usage (by the benchmark only): node --import tsx bench/lib/floor-server.ts <port>
 */
import type { BatchRecord } from '../../src/domain/batch.js';
import type { NewEvent } from '../../src/domain/event.js';
import type { NewSession, SessionRecord } from '../../src/domain/session.js';
import { loadConfig } from '../../src/config/config.js';
import { buildApp } from '../../src/http/app.js';
import { createLogger } from '../../src/logger.js';
import type { SessionWithEvents } from '../../src/schemas/records.js';
import type { StatsStore } from '../../src/storage/stats-store.js';
import type { DebugEventStore } from '../../src/storage/debug-event-store.js';
import type { ClickstreamStore } from '../../src/storage/store.js';
import type { TaskStore } from '../../src/storage/task-store.js';

const port = Number(process.argv[2] ?? '0');

/** Only the two writes the benchmark's scenarios (a), (b) and (c) send; every other call is refused. */
class NothingKept implements ClickstreamStore {
  readonly capabilities = { backend: 'none (benchmark floor)' };
  /** No task is ever pending: the service's lease sweep finds nothing, anything else is refused. */
  readonly tasks: TaskStore = {
    createTask: refused,
    getTask: refused,
    findStoredTask: refused,
    listTasks: refused,
    updateTask: refused,
    claimTask: refused,
    expiredLeases: () => Promise.resolve([]),
    batchesInTraining: refused,
  };
  /** The events debugger's records are taken and not kept, like every write here. */
  readonly debugEvents: DebugEventStore = { append: () => Promise.resolve(), list: () => Promise.resolve([]) };
  readonly stats: StatsStore = {
    aggregateBatch: () => Promise.resolve(null),
    changedSince: () => Promise.resolve(false),
    savedFigures: () => Promise.resolve(null),
    saveFigures: () => Promise.resolve(),
  };
  private number = 0;

  registerSession(session: NewSession): Promise<{ created: boolean; session: SessionRecord }> {
    this.number++;
    return Promise.resolve({
      created: true,
      session: { ...session, batch_id: 'floor', session_number: this.number, is_irrelevant: false },
    });
  }

  addEvents(_sessionId: string, events: readonly NewEvent[]): Promise<{ stored: number; duplicates: number }> {
    return Promise.resolve({ stored: events.length, duplicates: 0 });
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  markIrrelevant(): Promise<void> {
    return refused();
  }
  findSession(): Promise<SessionRecord | null> {
    return refused();
  }
  findEvents(): Promise<NewEvent[]> {
    return refused();
  }
  getSession(): Promise<SessionWithEvents | null> {
    return refused();
  }
  releaseBatch(): Promise<BatchRecord> {
    return refused();
  }
  getBatch(): Promise<BatchRecord | null> {
    return refused();
  }
  listBatches(): Promise<BatchRecord[]> {
    return refused();
  }
  listBatchSessions(): Promise<SessionWithEvents[]> {
    return refused();
  }
  checkIntegrity(): Promise<string[]> {
    return refused();
  }
}

function refused(): Promise<never> {
  return Promise.reject(new Error('the benchmark floor keeps nothing: only registrations and event posts'));
}

// The service's configuration and logger as `clickstream serve` builds them, from the same environment:
// bench/run.ts gives both the same CLICKSTREAM_LOG_LEVEL (--log-level).
const config = loadConfig({ ...process.env, CLICKSTREAM_PORT: String(port) });
const app = await buildApp({ store: new NothingKept(), config, logger: createLogger(config.logLevel) });
await app.listen({ host: '127.0.0.1', port });
const address = app.server.address();
console.log(`listening ${typeof address === 'object' && address !== null ? address.port : port}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void app.close();
    app.server.closeAllConnections();
  });
}
