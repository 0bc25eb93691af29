/**
 * The position-based model (PBM): P(click at position k on object o for query q) = theta[k] * a[q, o],
 * fitted by expectation-maximisation over the counts per (query, object, position) (Chuklin, Markov and
 * de Rijke, "Click Models for Web Search", 2015, section 4.2). For a result shown and not clicked, the
 * E-step splits the non-click into "not examined" and "not attractive":
 *   P(examined | no click) = theta (1 - a) / (1 - theta a),  P(attractive | no click) = (1 - theta) a / (1 - theta a);
 * a click counts as examined and attractive. The M-step sets theta[k] to the expected examinations at k
 * over the impressions at k, and a[q, o] to its expected attractions over its impressions.
 */
import type { ClickCounts, PairCounts } from './click-counts.js';

export interface PbmOptions {
  /** Stop when no parameter moved more than this in an iteration. */
  readonly tolerance: number;
  readonly maxIterations: number;
  /**
   * Propensities fitted elsewhere (the train part of a split), kept as they are: only the attractiveness
   * of these counts' pairs is fitted.
   */
  readonly propensities?: readonly number[];
}

export const DEFAULT_PBM_OPTIONS: PbmOptions = { tolerance: 1e-5, maxIterations: 5000 };

export interface PbmFit {
  /** theta[k] / theta[0] per position (so position 0 is 1); NaN-free: a position never shown gets 0. */
  readonly propensities: readonly number[];
  /** a[q, o] * theta[0], the attractiveness where position 0 is examined for sure, by the pair's key. */
  readonly attractiveness: ReadonlyMap<PairCounts, number>;
  readonly iterations: number;
  readonly converged: boolean;
}

/** Parameters stay inside (0, 1): at 0 or 1 the E-step's fractions are 0/0. */
const EPSILON = 1e-9;
const clamp = (p: number): number => Math.min(1 - EPSILON, Math.max(EPSILON, p));

export function fitPbm(counts: ClickCounts, options: PbmOptions = DEFAULT_PBM_OPTIONS): PbmFit {
  const pairs = counts.sortedPairs();
  const positions = counts.positions.length;
  const fixed = options.propensities?.map(clamp);
  let theta = fixed ?? Array.from({ length: positions }, () => 0.5);
  let a = pairs.map(() => 0.5);
  let iterations = 0;
  let converged = false;
  while (iterations < options.maxIterations && !converged) {
    iterations++;
    const examined = new Array<number>(positions).fill(0);
    const nextA = pairs.map((pair, i) => {
      const ai = a[i] ?? 0.5;
      let attracted = 0;
      let seen = 0;
      for (const [position, { impressions, clicks }] of pair.byPosition) {
        // With propensities from elsewhere, a position they do not cover says nothing (no invented theta).
        if (fixed && (fixed[position] ?? 0) <= EPSILON) continue;
        seen += impressions;
        const t = theta[position] ?? 0.5;
        const notClicked = impressions - clicks;
        const none = 1 - t * ai;
        examined[position] = (examined[position] ?? 0) + clicks + (notClicked * t * (1 - ai)) / none;
        attracted += clicks + (notClicked * (1 - t) * ai) / none;
      }
      return seen > 0 ? clamp(attracted / seen) : fixed ? 0 : ai;
    });
    const nextTheta =
      fixed ??
      examined.map((e, k) => {
        const shown = counts.positions[k]?.impressions ?? 0;
        return shown > 0 ? clamp(e / shown) : (theta[k] ?? 0.5);
      });
    // Judged on what is reported (propensities relative to position 0, attractiveness scaled by it): a fit
    // that drives theta[0] towards 0 moves the raw parameters little while the reported ones run away.
    converged =
      maxChange(relative(theta), relative(nextTheta)) < options.tolerance &&
      maxChange(scaled(a, theta), scaled(nextA, nextTheta)) < options.tolerance;
    theta = nextTheta;
    a = nextA;
  }
  const top = fixed ? 1 : (theta[0] ?? 1);
  return {
    propensities: fixed ?? theta.map((t, k) => ((counts.positions[k]?.impressions ?? 0) > 0 ? t / top : 0)),
    attractiveness: new Map(pairs.map((pair, i) => [pair, (a[i] ?? 0) * top])),
    iterations,
    converged,
  };
}

const relative = (theta: readonly number[]): number[] => theta.map((t) => t / (theta[0] ?? 1));
const scaled = (a: readonly number[], theta: readonly number[]): number[] => a.map((x) => x * (theta[0] ?? 1));

function maxChange(before: readonly number[], after: readonly number[]): number {
  let max = 0;
  after.forEach((value, i) => {
    max = Math.max(max, Math.abs(value - (before[i] ?? 0)));
  });
  return max;
}

/** Inverse propensity weighting (Joachims et al., WSDM 2017): a click at position k weighs 1 / propensity[k]. */
export function ipwWeight(propensities: readonly number[], position: number): number {
  const propensity = propensities[position] ?? 0;
  return propensity > 0 ? 1 / propensity : 0;
}
