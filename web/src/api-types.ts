/**
 * The shapes of the API's answers, from the service's own schemas (types only: nothing of the server is
 * bundled), so that a change of a schema breaks the dashboard's type check instead of its pages.
 */
import type { BatchStats, QueryKind } from '../../src/schemas/stats';

export type {
  Batch,
  BatchSessionsPage,
  Problem,
  ReleaseResponse,
  SessionWithEvents,
  StoredEvent,
  StoredSearchResult,
} from '../../src/schemas/records';
export type { BiasReport } from '../../src/services/training';

export type { DebugEvent, DebugEventsPage } from '../../src/schemas/debug-events';
export type { BatchStats, QueriesPage, QueryKind, QueryStats, Timeline } from '../../src/schemas/stats';

/** The query tables, in the order the batch page shows them (the schema's list holds TypeBox, not bundled). */
export const QUERY_KINDS: readonly QueryKind[] = ['top', 'no_click', 'no_result'];

export type HourFigures = BatchStats['searches_per_hour'][number];
export type PositionFigures = BatchStats['positions'][number];
