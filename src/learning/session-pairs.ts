/**
 * The per-session methods, row by row as sessions stream by:
 * - clicks: each result interacted with is a positive for the query (weight: its highest event weight);
 *   with in-batch negatives, the default for embeddings (Huang et al., KDD 2020);
 * - skip-above: each result interacted with is preferred over every result shown above it that was not
 *   (Joachims, KDD 2002): a (query, positive, negative) triple.
 */
import type { SessionSignal } from './observed-session.js';
import type { PairRow, Split } from './rows.js';

export function clickRows(signal: SessionSignal, split: Split | null): PairRow[] {
  const rows: PairRow[] = [];
  signal.weights.forEach((weight, position) => {
    const result = signal.session.results[position];
    if (weight <= 0 || result?.document == null) return;
    rows.push({
      anchor: signal.session.query,
      positive: result.document,
      negative: null,
      method: 'clicks',
      sessionId: signal.session.sessionId,
      objectId: result.objectId,
      position,
      negativeObjectId: null,
      negativePosition: null,
      weight,
      rating: null,
      split,
    });
  });
  return rows;
}

export function skipAboveRows(signal: SessionSignal, split: Split | null): PairRow[] {
  const rows: PairRow[] = [];
  const { session, weights } = signal;
  weights.forEach((weight, position) => {
    const result = session.results[position];
    if (weight <= 0 || result?.document == null) return;
    for (let above = 0; above < position; above++) {
      const skipped = session.results[above];
      if ((weights[above] ?? 0) > 0 || skipped?.document == null) continue;
      rows.push({
        anchor: session.query,
        positive: result.document,
        negative: skipped.document,
        method: 'skip-above',
        sessionId: session.sessionId,
        objectId: result.objectId,
        position,
        negativeObjectId: skipped.objectId,
        negativePosition: above,
        weight,
        rating: null,
        split,
      });
    }
  });
  return rows;
}
