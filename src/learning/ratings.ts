/**
 * A rating per (query, object) shown, by each method, from the counts (and, for pbm, its fit):
 * - clicks: the raw click-through rate, clicks over impressions (biased by position);
 * - coec: clicks over the clicks expected from the click-through rate of the positions where it was shown,
 *   as OpenSearch's Search Relevance Workbench computes implicit judgments (1 = as clicked as its
 *   positions predict);
 * - pbm: the attractiveness estimated by the position-based model;
 * - skip-above: the share of its skip-above pairs it won (Joachims, KDD 2002); 0.5 with no pair at all.
 */
import type { ClickCounts, PairCounts, PositionCount } from './click-counts.js';
import type { TrainingMethod } from './rows.js';

export type Rating = (pair: PairCounts) => number;

/** The click-through rate per position, from counts that may be another part's (the train part of a split). */
export function positionCtr(positions: readonly (PositionCount | undefined)[]): number[] {
  return Array.from(positions, (at) => (at && at.impressions > 0 ? at.clicks / at.impressions : 0));
}

/**
 * Only positions with a click-through rate count: where the rates come from another part (the train part of
 * a split) that never reached a position, its clicks there are not compared with an expectation of 0.
 */
export function coecRating(ctr: readonly number[]): Rating {
  return (pair) => {
    let expected = 0;
    let clicked = 0;
    for (const [position, { impressions, clicks }] of pair.byPosition) {
      const rate = ctr[position] ?? 0;
      if (rate <= 0) continue;
      expected += impressions * rate;
      clicked += clicks;
    }
    return expected > 0 ? clicked / expected : 0;
  };
}

export const clicksRating: Rating = (pair) => (pair.impressions > 0 ? pair.clicks / pair.impressions : 0);

export const skipAboveRating: Rating = (pair) =>
  pair.wins + pair.losses > 0 ? pair.wins / (pair.wins + pair.losses) : 0.5;

export function pbmRating(attractiveness: ReadonlyMap<PairCounts, number>): Rating {
  return (pair) => attractiveness.get(pair) ?? 0;
}

/** The default minimum rating of a positive, for the aggregated methods (DESIGN.md section 6). */
export const DEFAULT_MIN_RATING: Readonly<Record<TrainingMethod, number>> = {
  clicks: 0,
  'skip-above': 0,
  pbm: 0.5,
  coec: 1,
};

/** Share of the (query, object) pairs that were shown at two or more positions: what identifies a PBM. */
export function multiPositionShare(counts: ClickCounts): number {
  let shown = 0;
  let multi = 0;
  for (const pair of counts.pairs.values()) {
    if (pair.impressions === 0) continue;
    shown++;
    if (pair.byPosition.size >= 2) multi++;
  }
  return shown > 0 ? multi / shown : 0;
}
