/**
 * NDCG@k against the world's true grades (gain 2^grade - 1, discount 1 / log2(rank + 2) for 0-based rank),
 * and the order a method's ratings give a query's objects. Pure.
 */
import { fnv1a } from './prng.js';
import { productionOrder, type World } from './world.js';

export const gain = (grade: number): number => 2 ** grade - 1;

export function dcg(grades: readonly number[], k: number): number {
  let total = 0;
  for (let rank = 0; rank < Math.min(k, grades.length); rank++) {
    total += gain(grades[rank] ?? 0) / Math.log2(rank + 2);
  }
  return total;
}

/** NDCG@k of `order` (indices into `grades`, best first) among all of `grades`; 1 when no object has a gain. */
export function ndcg(order: readonly number[], grades: readonly number[], k: number): number {
  const ideal = dcg(
    [...grades].sort((x, y) => y - x),
    k,
  );
  if (ideal === 0) return 1;
  return (
    dcg(
      order.map((o) => grades[o] ?? 0),
      k,
    ) / ideal
  );
}

/**
 * The order ratings give objects (indices into `objectIds`): rated objects by rating, highest first; objects
 * with no rating (never shown) after all rated ones. Equal ratings, and the unrated, are ordered by a hash of
 * the object id, never by any ranking, so a method gets no credit from the production order.
 */
export function orderByRatings(objectIds: readonly string[], ratings: ReadonlyMap<string, number>): number[] {
  const hashes = objectIds.map(fnv1a);
  const key = (o: number): number => ratings.get(objectIds[o] ?? '') ?? Number.NEGATIVE_INFINITY;
  return objectIds
    .map((_, o) => o)
    .sort((x, y) => {
      const kx = key(x);
      const ky = key(y);
      if (kx !== ky) return ky > kx ? 1 : -1;
      return (hashes[x] ?? 0) - (hashes[y] ?? 0) || x - y;
    });
}

/** Ratings of one method: query text -> object id -> rating. */
export type Ratings = ReadonlyMap<string, ReadonlyMap<string, number>>;

/** Mean over the world's queries of NDCG@k of each query's objects ordered by `ratings`. */
export function meanNdcgOfRatings(world: World, ratings: Ratings, k = world.parameters.shown): number {
  let total = 0;
  world.queryTexts.forEach((text, q) => {
    const ids = world.objectIds[q] ?? [];
    total += ndcg(orderByRatings(ids, ratings.get(text) ?? new Map()), world.grades[q] ?? [], k);
  });
  return total / world.queryTexts.length;
}

/** Mean over queries of NDCG@k of the production ranker's order without session noise. */
export function productionNdcg(world: World, k = world.parameters.shown): number {
  let total = 0;
  world.queryTexts.forEach((_, q) => {
    total += ndcg(productionOrder(world, q), world.grades[q] ?? [], k);
  });
  return total / world.queryTexts.length;
}

/** Mean over sessions of NDCG@k of what each session was shown (the ranker with its session noise). */
export function shownNdcg(
  world: World,
  sessions: readonly { readonly query: number; readonly shown: readonly number[] }[],
  k = world.parameters.shown,
): number {
  if (sessions.length === 0) return Number.NaN;
  let total = 0;
  for (const session of sessions) total += ndcg(session.shown, world.grades[session.query] ?? [], k);
  return total / sessions.length;
}
