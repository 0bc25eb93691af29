/**
 * The counts every aggregated method needs, per (query, object) and per position: impressions (sessions
 * that showed it), clicks (sessions that interacted with it), and the skip-above pairs it won and lost.
 * Memory grows with the distinct (query, object, position) triples, not with the sessions.
 */
import type { SessionSignal } from './observed-session.js';

export interface PositionCount {
  impressions: number;
  clicks: number;
}

export interface PairCounts {
  readonly query: string;
  readonly objectId: string;
  /** The document text of the first session that showed it with one; null while none did. */
  document: string | null;
  impressions: number;
  clicks: number;
  positionSum: number;
  /** skip-above: times it was interacted with below a result that was not, and times it was that result. */
  wins: number;
  losses: number;
  readonly byPosition: Map<number, PositionCount>;
}

export class ClickCounts {
  readonly pairs = new Map<string, PairCounts>();
  /** Impressions and clicks per position, over every pair. */
  readonly positions: PositionCount[] = [];
  sessions = 0;

  add({ session, weights }: SessionSignal): void {
    this.sessions++;
    const unclickedAbove: PairCounts[] = [];
    weights.forEach((weight, position) => {
      const result = session.results[position];
      if (!result) return;
      const pair = this.pairOf(session.query, result.objectId, result.document);
      const clicked = weight > 0 ? 1 : 0;
      pair.impressions++;
      pair.clicks += clicked;
      pair.positionSum += position;
      const at = pair.byPosition.get(position);
      if (at) {
        at.impressions++;
        at.clicks += clicked;
      } else {
        pair.byPosition.set(position, { impressions: 1, clicks: clicked });
      }
      const overall = (this.positions[position] ??= { impressions: 0, clicks: 0 });
      overall.impressions++;
      overall.clicks += clicked;
      if (clicked) {
        pair.wins += unclickedAbove.length;
        for (const loser of unclickedAbove) loser.losses++;
      } else {
        unclickedAbove.push(pair);
      }
    });
  }

  /** The pairs in a stable order (query, then object id), so that output does not depend on arrival. */
  sortedPairs(): PairCounts[] {
    return [...this.pairs.values()].sort(
      (a, b) => compareText(a.query, b.query) || compareText(a.objectId, b.objectId),
    );
  }

  private pairOf(query: string, objectId: string, document: string | null): PairCounts {
    const key = `${query}\u0000${objectId}`;
    let pair = this.pairs.get(key);
    if (pair && pair.document === null) pair.document = document;
    if (!pair) {
      pair = {
        query,
        objectId,
        document,
        impressions: 0,
        clicks: 0,
        positionSum: 0,
        wins: 0,
        losses: 0,
        byPosition: new Map(),
      };
      this.pairs.set(key, pair);
    }
    return pair;
  }
}

/** Code-unit order, the same everywhere (localeCompare depends on the machine's locale). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
