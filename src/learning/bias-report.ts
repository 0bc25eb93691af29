/**
 * The position-bias curve of a batch, as `clickstream bias` reports it: PBM's propensity per position
 * beside the raw counts, and warnings when the batch cannot tell propensity from relevance. PBM is
 * identifiable only where the same object was shown at different positions for the same query
 * (intervention harvesting, Agarwal et al., WSDM 2019).
 */
import type { ClickCounts } from './click-counts.js';
import type { PbmFit } from './pbm.js';
import { multiPositionShare } from './ratings.js';

export interface PositionBias {
  readonly position: number;
  readonly propensity: number;
  readonly impressions: number;
  readonly clicks: number;
  readonly ctr: number;
}

export interface LearningWarning {
  readonly code:
    | 'not_identifiable'
    | 'weakly_identifiable'
    | 'no_clicks'
    | 'not_converged'
    | 'degenerate'
    | 'not_sealed'
    | 'empty_train_part';
  readonly message: string;
  readonly [detail: string]: unknown;
}

/** Below these shares of pairs seen at two or more positions, the curve is not (or weakly) identifiable. */
export const IDENTIFIABLE_SHARE = { not: 0.05, weakly: 0.2 };

/** A propensity above this (position 0 is 1) says the fit is degenerate, not that users look lower first. */
const DEGENERATE_PROPENSITY = 2;

export function positionBias(counts: ClickCounts, fit: PbmFit): PositionBias[] {
  return counts.positions.map((at, position) => ({
    position,
    propensity: round(fit.propensities[position] ?? 0),
    impressions: at.impressions,
    clicks: at.clicks,
    ctr: round(at.impressions > 0 ? at.clicks / at.impressions : 0),
  }));
}

export function biasWarnings(counts: ClickCounts, fit: PbmFit): LearningWarning[] {
  const warnings: LearningWarning[] = [];
  const share = multiPositionShare(counts);
  const percent = `${(share * 100).toFixed(1)} %`;
  if (share < IDENTIFIABLE_SHARE.not) {
    warnings.push({
      code: 'not_identifiable',
      message: `only ${percent} of the (query, object) pairs were shown at two or more positions: with one fixed ranking per query, position bias and relevance cannot be told apart, so this curve says little; vary the order (interleaving, or a little randomisation of the top results) to measure it`,
      multi_position_share: round(share),
    });
  } else if (share < IDENTIFIABLE_SHARE.weakly) {
    warnings.push({
      code: 'weakly_identifiable',
      message: `only ${percent} of the (query, object) pairs were shown at two or more positions: the curve rests on few of them`,
      multi_position_share: round(share),
    });
  }
  if (counts.positions.every((at) => at.clicks === 0)) {
    warnings.push({ code: 'no_clicks', message: 'no result was interacted with: there is nothing to learn from' });
  }
  // Well above 1: the fit explains the clicks by a position 0 that is hardly ever examined.
  const highest = Math.max(0, ...fit.propensities);
  if (highest > DEGENERATE_PROPENSITY) {
    warnings.push({
      code: 'degenerate',
      message: `the fit gives a position ${round(highest)} times as examined as position 0: the clicks do not fit a position-based model, so neither the curve nor the ratings mean much`,
      highest_propensity: round(highest),
    });
  }
  if (!fit.converged) {
    warnings.push({
      code: 'not_converged',
      message: `EM stopped after ${fit.iterations} iterations before converging`,
      iterations: fit.iterations,
    });
  }
  return warnings;
}

/** Six decimals: enough for any use, and the same text on every machine. */
export function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
