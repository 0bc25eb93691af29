/**
 * A reference position-based model fitted by EM directly over simulated sessions, in memory (no service, no
 * CLI): it checks that the simulated world is identifiable and what a correct PBM can reach on it, so a figure
 * of the product's `pbm` method can be read against it. Deliberately small and written from the textbook
 * (Chuklin, Markov and de Rijke, "Click Models for Web Search", section 4.2); not the product's code.
 */
import type { SimulatedSession } from './users.js';
import type { World } from './world.js';

/** Impressions and clicks of one (query, object) at one position. */
interface Cell {
  readonly q: number;
  readonly o: number;
  readonly k: number;
  impressions: number;
  clicks: number;
}

export interface ReferenceFit {
  /** Examination per position, normalised so that theta[0] = 1. */
  readonly theta: number[];
  /** Attractiveness per (query, object) shown at least once, scaled by the same theta[0]. */
  readonly attractiveness: Map<string, Map<string, number>>;
  readonly iterations: number;
  readonly converged: boolean;
}

function cellsOf(world: World, sessions: readonly SimulatedSession[]): Cell[] {
  const shown = world.parameters.shown;
  const cells = new Map<number, Cell>();
  for (const session of sessions) {
    const clicked = new Set(session.clicked);
    session.shown.forEach((o, k) => {
      const key = (session.query * world.parameters.objects + o) * shown + k;
      let cell = cells.get(key);
      if (cell === undefined) {
        cell = { q: session.query, o, k, impressions: 0, clicks: 0 };
        cells.set(key, cell);
      }
      cell.impressions++;
      if (clicked.has(k)) cell.clicks++;
    });
  }
  return [...cells.values()];
}

/** Fits theta and attractiveness by EM from 0.5 each; stops when no parameter moves by 1e-6, or at 500 rounds. */
export function fitReferencePbm(
  world: World,
  sessions: readonly SimulatedSession[],
  options: { readonly tolerance?: number; readonly maxIterations?: number } = {},
): ReferenceFit {
  const tolerance = options.tolerance ?? 1e-6;
  const maxIterations = options.maxIterations ?? 500;
  const { shown, objects } = world.parameters;
  const cells = cellsOf(world, sessions);
  const pairIndex = (cell: Cell): number => cell.q * objects + cell.o;
  const pairs = world.parameters.queries * objects;
  let theta = new Array<number>(shown).fill(0.5);
  let a = new Array<number>(pairs).fill(0.5);
  const impressionsAt = new Array<number>(shown).fill(0);
  const impressionsOf = new Array<number>(pairs).fill(0);
  for (const cell of cells) {
    impressionsAt[cell.k] = (impressionsAt[cell.k] ?? 0) + cell.impressions;
    impressionsOf[pairIndex(cell)] = (impressionsOf[pairIndex(cell)] ?? 0) + cell.impressions;
  }
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations && !converged) {
    iterations++;
    const examined = new Array<number>(shown).fill(0);
    const attracted = new Array<number>(pairs).fill(0);
    for (const cell of cells) {
      const t = theta[cell.k] ?? 0;
      const p = pairIndex(cell);
      const at = a[p] ?? 0;
      const unclicked = cell.impressions - cell.clicks;
      const denominator = 1 - t * at;
      // A click: examined and attracted. Shown and not clicked: the posteriors of each.
      const examinedShare = denominator > 0 ? (t * (1 - at)) / denominator : 0;
      const attractedShare = denominator > 0 ? ((1 - t) * at) / denominator : 0;
      examined[cell.k] = (examined[cell.k] ?? 0) + cell.clicks + unclicked * examinedShare;
      attracted[p] = (attracted[p] ?? 0) + cell.clicks + unclicked * attractedShare;
    }
    const nextTheta = examined.map((e, k) => ((impressionsAt[k] ?? 0) > 0 ? e / (impressionsAt[k] ?? 1) : 0));
    const nextA = attracted.map((e, p) => ((impressionsOf[p] ?? 0) > 0 ? e / (impressionsOf[p] ?? 1) : 0));
    let change = 0;
    nextTheta.forEach((value, k) => (change = Math.max(change, Math.abs(value - (theta[k] ?? 0)))));
    nextA.forEach((value, p) => (change = Math.max(change, Math.abs(value - (a[p] ?? 0)))));
    theta = nextTheta;
    a = nextA;
    converged = change < tolerance;
  }
  const top = theta[0] ?? 1;
  const attractiveness = new Map<string, Map<string, number>>();
  world.queryTexts.forEach((text, q) => {
    const row = new Map<string, number>();
    for (let o = 0; o < objects; o++) {
      if ((impressionsOf[q * objects + o] ?? 0) > 0)
        row.set(world.objectIds[q]?.[o] ?? '', (a[q * objects + o] ?? 0) * top);
    }
    attractiveness.set(text, row);
  });
  return { theta: theta.map((t) => t / top), attractiveness, iterations, converged };
}

/** Raw click-through rate per (query, object) shown, in memory: the naive baseline a PBM should beat. */
export function referenceCtr(world: World, sessions: readonly SimulatedSession[]): Map<string, Map<string, number>> {
  const counts = new Map<string, Map<string, { impressions: number; clicks: number }>>();
  for (const session of sessions) {
    const text = world.queryTexts[session.query] ?? '';
    let row = counts.get(text);
    if (row === undefined) counts.set(text, (row = new Map<string, { impressions: number; clicks: number }>()));
    const clicked = new Set(session.clicked);
    session.shown.forEach((o, k) => {
      const id = world.objectIds[session.query]?.[o] ?? '';
      const count = row.get(id) ?? { impressions: 0, clicks: 0 };
      count.impressions++;
      if (clicked.has(k)) count.clicks++;
      row.set(id, count);
    });
  }
  return new Map(
    [...counts].map(([text, row]) => [text, new Map([...row].map(([id, c]) => [id, c.clicks / c.impressions]))]),
  );
}

/** Max over positions of |estimated[k] - theta[k] / theta[0]|; a missing estimate counts as 0. */
export function propensityError(estimated: readonly number[], theta: readonly number[]): number {
  const top = theta[0] ?? 1;
  return theta.reduce((worst, t, k) => Math.max(worst, Math.abs((estimated[k] ?? 0) - t / top)), 0);
}
