/**
 * The simulation's steps, shared by `npm run simulate` (bench/simulation/run.ts) and the end-to-end test:
 * simulate each user model's sessions in memory (with the reference figures over them), send them to a
 * running service as a batch of their own, then measure what the CLI makes of each batch.
 */
import {
  readBias,
  readJudgments,
  JUDGMENT_METHODS,
  type BiasOutput,
  type JudgmentMethod,
  type RunCli,
} from './cli-contract.js';
import { biasPropensityError, coverageOf, ndcgOfJudgments, type Coverage } from './evaluate.js';
import { ingestBatch, type IngestedBatch } from './http-driver.js';
import { meanNdcgOfRatings, shownNdcg } from './ndcg.js';
import { fitReferencePbm, propensityError, referenceCtr } from './reference-pbm.js';
import { simulateSessions, type SimulatedSession, type UserModel } from './users.js';
import type { World } from './world.js';

/** One user model's sessions and what a correct model can get from them in memory (no service involved). */
export interface SimulatedModel {
  readonly model: UserModel;
  readonly sessions: readonly SimulatedSession[];
  readonly clicks: number;
  /** Mean NDCG@k of what the sessions were shown. */
  readonly shownNdcg: number;
  readonly reference: {
    readonly propensityError: number;
    readonly theta: readonly number[];
    readonly ndcg: number;
    readonly iterations: number;
    readonly converged: boolean;
    /** Raw CTR per (query, object) computed in memory: what the `clicks` method should reproduce. */
    readonly ctrNdcg: number;
  };
}

export interface MeasuredModel extends SimulatedModel {
  readonly batch: IngestedBatch;
  readonly bias: BiasOutput;
  readonly biasError: number;
  readonly methods: ReadonlyMap<JudgmentMethod, { readonly ndcg: number; readonly coverage: Coverage }>;
}

export function simulateModel(world: World, model: UserModel, count: number): SimulatedModel {
  const sessions = simulateSessions(world, model, count);
  const fit = fitReferencePbm(world, sessions);
  return {
    model,
    sessions,
    clicks: sessions.reduce((sum, s) => sum + s.clicked.length, 0),
    shownNdcg: shownNdcg(world, sessions),
    reference: {
      propensityError: propensityError(fit.theta, world.theta),
      theta: fit.theta,
      ndcg: meanNdcgOfRatings(world, fit.attractiveness),
      iterations: fit.iterations,
      converged: fit.converged,
      ctrNdcg: meanNdcgOfRatings(world, referenceCtr(world, sessions)),
    },
  };
}

/** Sends one model's sessions to the service and releases them as a batch of their own. */
export function sendModel(
  base: string,
  world: World,
  simulated: SimulatedModel,
  concurrency: number,
  log: (line: string) => void = () => undefined,
): Promise<IngestedBatch> {
  return ingestBatch(base, world, simulated.sessions, {
    concurrency,
    onProgress: (done) => {
      log(`  ${simulated.model}: ${done.toLocaleString('en-US')} sessions sent`);
    },
  });
}

/** Runs `bias` and `training-data` for every method on one released batch and compares them with the truth. */
export async function measureModel(
  world: World,
  simulated: SimulatedModel,
  batch: IngestedBatch,
  runCli: RunCli,
): Promise<MeasuredModel> {
  const bias = await readBias(runCli, batch.batchId, world.parameters.shown);
  const methods = new Map<JudgmentMethod, { ndcg: number; coverage: Coverage }>();
  for (const method of JUDGMENT_METHODS) {
    const rows = await readJudgments(runCli, batch.batchId, method);
    methods.set(method, { ndcg: ndcgOfJudgments(world, rows), coverage: coverageOf(world, simulated.sessions, rows) });
  }
  return { ...simulated, batch, bias, biasError: biasPropensityError(world, bias), methods };
}
