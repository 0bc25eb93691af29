/**
 * The simulated world and its ground truth: queries, their objects' true grades and attractiveness, the
 * true position bias, and the production ranker that decides what each session is shown. Pure: the same
 * parameters and seed give the same world.
 */
import { integerBelow, normal, stream, type Uniform } from './prng.js';

export interface SimulationParameters {
  readonly seed: number;
  readonly queries: number;
  /** Objects per query (all of them are candidates of the production ranker). */
  readonly objects: number;
  /** Results shown per session (the ranker's top). */
  readonly shown: number;
  /** Attractiveness of each grade, grade 0 first; a (query, object)'s grade is drawn uniformly. */
  readonly attractivenessByGrade: readonly number[];
  /** theta[k] = (1 / (k + 1)) ** eta for 0-based position k. */
  readonly eta: number;
  /** Sd of the production ranker's error per (query, object), drawn once. */
  readonly rankerErrorSd: number;
  /** Sd of the production ranker's noise per session and object. */
  readonly sessionNoiseSd: number;
  /** Cascade users: probability of stopping after a click. */
  readonly cascadeStop: number;
  /** Sessions per user model. */
  readonly sessions: number;
}

export const DEFAULT_PARAMETERS: SimulationParameters = {
  seed: 20261126,
  queries: 200,
  objects: 20,
  shown: 10,
  attractivenessByGrade: [0.02, 0.1, 0.3, 0.6, 0.9],
  eta: 0.7,
  rankerErrorSd: 0.5,
  sessionNoiseSd: 0.2,
  cascadeStop: 0.7,
  sessions: 50_000,
};

export interface World {
  readonly parameters: SimulationParameters;
  /** Query texts, "query-000" ... */
  readonly queryTexts: readonly string[];
  /** objectIds[q][o]: the id of query q's object o, "object-000-00" ... (unique across queries). */
  readonly objectIds: readonly (readonly string[])[];
  /** grades[q][o] in 0 .. attractivenessByGrade.length - 1. */
  readonly grades: readonly (readonly number[])[];
  /** attractiveness[q][o] = attractivenessByGrade[grades[q][o]]. */
  readonly attractiveness: readonly (readonly number[])[];
  /** The production ranker's fixed error per (query, object). */
  readonly rankerError: readonly (readonly number[])[];
  /** True examination probability per 0-based position, theta[0] = 1. */
  readonly theta: readonly number[];
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

export function positionBias(shown: number, eta: number): number[] {
  return Array.from({ length: shown }, (_, k) => (1 / (k + 1)) ** eta);
}

export function buildWorld(parameters: SimulationParameters): World {
  const { queries, objects, attractivenessByGrade } = parameters;
  if (parameters.shown > objects) throw new Error(`shown (${parameters.shown}) exceeds objects (${objects})`);
  const uniform = stream(parameters.seed, 'world');
  const qWidth = Math.max(3, String(queries - 1).length);
  const oWidth = Math.max(2, String(objects - 1).length);
  const queryTexts: string[] = [];
  const objectIds: string[][] = [];
  const grades: number[][] = [];
  const attractiveness: number[][] = [];
  const rankerError: number[][] = [];
  for (let q = 0; q < queries; q++) {
    queryTexts.push(`query-${pad(q, qWidth)}`);
    const ids: string[] = [];
    const g: number[] = [];
    const a: number[] = [];
    const e: number[] = [];
    for (let o = 0; o < objects; o++) {
      ids.push(`object-${pad(q, qWidth)}-${pad(o, oWidth)}`);
      const grade = integerBelow(uniform, attractivenessByGrade.length);
      g.push(grade);
      a.push(attractivenessByGrade[grade] ?? 0);
      e.push(normal(uniform, 0, parameters.rankerErrorSd));
    }
    objectIds.push(ids);
    grades.push(g);
    attractiveness.push(a);
    rankerError.push(e);
  }
  return {
    parameters,
    queryTexts,
    objectIds,
    grades,
    attractiveness,
    rankerError,
    theta: positionBias(parameters.shown, parameters.eta),
  };
}

/** Indices of `scores` from the highest score down (equal scores: lower index first). */
function descending(scores: readonly number[]): number[] {
  return scores.map((_, i) => i).sort((x, y) => (scores[y] ?? 0) - (scores[x] ?? 0) || x - y);
}

/** The production ranker's order of all of query q's objects without session noise (attractiveness + error). */
export function productionOrder(world: World, q: number): number[] {
  const a = world.attractiveness[q] ?? [];
  const e = world.rankerError[q] ?? [];
  return descending(a.map((value, o) => value + (e[o] ?? 0)));
}

/** One session's shown objects (indices into query q's objects, top first): the ranker with fresh noise. */
export function rankForSession(world: World, q: number, uniform: Uniform): number[] {
  const a = world.attractiveness[q] ?? [];
  const e = world.rankerError[q] ?? [];
  const sd = world.parameters.sessionNoiseSd;
  const scores = a.map((value, o) => value + (e[o] ?? 0) + normal(uniform, 0, sd));
  return descending(scores).slice(0, world.parameters.shown);
}
