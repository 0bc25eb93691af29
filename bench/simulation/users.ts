/**
 * Simulated users and their sessions: each session picks a query uniformly, is shown the production
 * ranker's top with fresh session noise, and clicks as its user model says. Pure and seeded: a user model's
 * sessions come from a stream of their own, so they do not depend on the other model or on the world's draws.
 */
import { integerBelow, stream, type Uniform } from './prng.js';
import { rankForSession, type World } from './world.js';

export const USER_MODELS = ['pbm', 'cascade'] as const;
export type UserModel = (typeof USER_MODELS)[number];

export interface SimulatedSession {
  readonly sessionId: string;
  readonly query: number;
  /** Indices of query `query`'s objects, in the order shown (position 0 first). */
  readonly shown: readonly number[];
  /** 0-based positions clicked, ascending. */
  readonly clicked: readonly number[];
}

/** PBM user: the result at position k is clicked with probability theta[k] * attractiveness, independently. */
export function pbmClicks(attractiveness: readonly number[], theta: readonly number[], uniform: Uniform): number[] {
  const clicked: number[] = [];
  attractiveness.forEach((a, k) => {
    if (uniform() < (theta[k] ?? 0) * a) clicked.push(k);
  });
  return clicked;
}

/** Cascade user: scans from position 0, clicks with probability attractiveness, stops after a click with `stop`. */
export function cascadeClicks(attractiveness: readonly number[], stop: number, uniform: Uniform): number[] {
  const clicked: number[] = [];
  for (let k = 0; k < attractiveness.length; k++) {
    if (uniform() < (attractiveness[k] ?? 0)) {
      clicked.push(k);
      if (uniform() < stop) break;
    }
  }
  return clicked;
}

/** `count` sessions of one user model (ids `sim-<model>-<seed>-<n>`), deterministic for the world's seed. */
export function simulateSessions(world: World, model: UserModel, count: number): SimulatedSession[] {
  const { seed, queries, cascadeStop } = world.parameters;
  const uniform = stream(seed, `sessions:${model}`);
  const width = String(Math.max(count - 1, 0)).length;
  const sessions: SimulatedSession[] = [];
  for (let n = 0; n < count; n++) {
    const query = integerBelow(uniform, queries);
    const shown = rankForSession(world, query, uniform);
    const row = world.attractiveness[query] ?? [];
    const a = shown.map((o) => row[o] ?? 0);
    const clicked = model === 'pbm' ? pbmClicks(a, world.theta, uniform) : cascadeClicks(a, cascadeStop, uniform);
    sessions.push({ sessionId: `sim-${model}-${seed}-${String(n).padStart(width, '0')}`, query, shown, clicked });
  }
  return sessions;
}
