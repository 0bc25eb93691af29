/**
 * What the use-cases report as they happen, for the service's metrics (http/metrics.ts). Counts only: no
 * id or query ever leaves through it. Without metrics, nothing listens.
 */
export interface UseCaseObserver {
  /** A registration answered: `created` false for a retry of a stored session. */
  sessionRegistered(created: boolean): void;
  /** An events request answered: how many were stored, how many were duplicates. */
  eventsAdded(stored: number, duplicates: number): void;
  /** A release answered, after `seconds`. */
  batchReleased(seconds: number): void;
}

export const NO_OBSERVER: UseCaseObserver = {
  sessionRegistered: () => undefined,
  eventsAdded: () => undefined,
  batchReleased: () => undefined,
};
