/**
 * What the CLI's output is worth against the ground truth: NDCG@k of each method's ratings, the propensity
 * error of `bias`, and whether each method's judgments account for exactly what was shown and clicked. Pure.
 */
import type { BiasOutput, Judgment } from './cli-contract.js';
import { meanNdcgOfRatings, type Ratings } from './ndcg.js';
import { propensityError } from './reference-pbm.js';
import type { SimulatedSession } from './users.js';
import type { World } from './world.js';

/** How a method's judgments compare with the sessions that were sent. */
export interface Coverage {
  /** (query, object) pairs shown in the sessions sent. */
  readonly pairsShown: number;
  readonly rows: number;
  /** Pairs shown with no row, rows of pairs never shown, rows repeating a pair. */
  readonly missing: number;
  readonly unexpected: number;
  readonly duplicates: number;
  /** Rows whose impressions, clicks or mean_position differ from the sessions sent (mean_position by 1e-6). */
  readonly wrongImpressions: number;
  readonly wrongClicks: number;
  readonly wrongMeanPosition: number;
}

export const coverageIsExact = (c: Coverage): boolean =>
  c.missing + c.unexpected + c.duplicates + c.wrongImpressions + c.wrongClicks + c.wrongMeanPosition === 0;

interface Truth {
  impressions: number;
  clicks: number;
  positions: number;
}

const pairKey = (query: string, objectId: string): string => `${query}\u0000${objectId}`;

function truthOf(world: World, sessions: readonly SimulatedSession[]): Map<string, Truth> {
  const truth = new Map<string, Truth>();
  for (const session of sessions) {
    const text = world.queryTexts[session.query] ?? '';
    const clicked = new Set(session.clicked);
    session.shown.forEach((o, k) => {
      const key = pairKey(text, world.objectIds[session.query]?.[o] ?? '');
      const t = truth.get(key) ?? { impressions: 0, clicks: 0, positions: 0 };
      t.impressions++;
      t.positions += k;
      if (clicked.has(k)) t.clicks++;
      truth.set(key, t);
    });
  }
  return truth;
}

export function coverageOf(world: World, sessions: readonly SimulatedSession[], rows: readonly Judgment[]): Coverage {
  const truth = truthOf(world, sessions);
  const seen = new Set<string>();
  let unexpected = 0;
  let duplicates = 0;
  let wrongImpressions = 0;
  let wrongClicks = 0;
  let wrongMeanPosition = 0;
  for (const row of rows) {
    const key = pairKey(row.query, row.objectId);
    if (seen.has(key)) duplicates++;
    seen.add(key);
    const t = truth.get(key);
    if (t === undefined) {
      unexpected++;
      continue;
    }
    if (row.impressions !== t.impressions) wrongImpressions++;
    if (row.clicks !== t.clicks) wrongClicks++;
    if (Math.abs(row.meanPosition - t.positions / t.impressions) > 1e-6) wrongMeanPosition++;
  }
  const missing = [...truth.keys()].filter((key) => !seen.has(key)).length;
  return {
    pairsShown: truth.size,
    rows: rows.length,
    missing,
    unexpected,
    duplicates,
    wrongImpressions,
    wrongClicks,
    wrongMeanPosition,
  };
}

export function ratingsOf(rows: readonly Judgment[]): Ratings {
  const ratings = new Map<string, Map<string, number>>();
  for (const row of rows) {
    let byObject = ratings.get(row.query);
    if (byObject === undefined) ratings.set(row.query, (byObject = new Map<string, number>()));
    byObject.set(row.objectId, row.rating);
  }
  return ratings;
}

export function ndcgOfJudgments(world: World, rows: readonly Judgment[]): number {
  return meanNdcgOfRatings(world, ratingsOf(rows));
}

/** Estimated propensity per 0-based position 0 .. shown - 1 from `bias` (a position it left out counts as 0). */
export function propensitiesOf(bias: BiasOutput, shown: number): number[] {
  const byPosition = new Map(bias.propensities.map((p) => [p.position, p.propensity]));
  return Array.from({ length: shown }, (_, k) => byPosition.get(k) ?? 0);
}

export function biasPropensityError(world: World, bias: BiasOutput): number {
  return propensityError(propensitiesOf(bias, world.parameters.shown), world.theta);
}
