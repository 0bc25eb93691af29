/** The simulation's Markdown report: the parameters, the figures per method and user model, the details. Pure. */
import { JUDGMENT_METHODS } from './cli-contract.js';
import { coverageIsExact, propensitiesOf, type Coverage } from './evaluate.js';
import type { MeasuredModel } from './simulation.js';
import type { UserModel } from './users.js';
import type { SimulationParameters, World } from './world.js';

const f4 = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(4));
const int = (n: number): string => n.toLocaleString('en-US');

/** The parameters with the flag that changes each. */
export function parametersTable(p: SimulationParameters, concurrency: number): string {
  const rows: [string, string, string][] = [
    ['seed (mulberry32 streams per purpose; normals by Box-Muller)', String(p.seed), '--seed'],
    ['queries', int(p.queries), '--queries'],
    ['objects per query', int(p.objects), '--objects'],
    ['results shown per session', int(p.shown), '--shown'],
    ['attractiveness of grades 0-4 (drawn uniformly; NDCG gain 2^g - 1)', p.attractivenessByGrade.join(', '), '—'],
    ['position bias theta[k] = (1/(k+1))^eta, 0-based k', `eta = ${p.eta}`, '--eta'],
    ['production ranker: error per (query, object), drawn once', `N(0, ${p.rankerErrorSd})`, '--ranker-error-sd'],
    ['production ranker: noise per session and object', `N(0, ${p.sessionNoiseSd})`, '--session-noise-sd'],
    ['cascade users: stop after a click with probability', String(p.cascadeStop), '--cascade-stop'],
    ['sessions per user model (each model a batch of its own)', int(p.sessions), '--sessions'],
    ['sessions in flight over HTTP', int(concurrency), '--concurrency'],
  ];
  return [
    '| parameter | value | flag |',
    '| --- | --- | --- |',
    ...rows.map(([name, value, flag]) => `| ${name} | ${value} | ${flag} |`),
  ].join('\n');
}

/** The main table: NDCG@k per method and user model, and the propensity error. */
export function resultsTable(world: World, productionNdcg: number, models: readonly MeasuredModel[]): string {
  const k = world.parameters.shown;
  const of = (model: UserModel): MeasuredModel | undefined => models.find((m) => m.model === model);
  const pbm = of('pbm');
  const cascade = of('cascade');
  const row = (name: string, ndcg: (m: MeasuredModel) => number | undefined, error?: (m: MeasuredModel) => number) =>
    `| ${name} | ${f4(pbm && ndcg(pbm))} | ${f4(cascade && ndcg(cascade))} | ${
      error === undefined ? '—' : f4(pbm && error(pbm))
    } | ${error === undefined ? '—' : f4(cascade && error(cascade))} |`;
  return [
    `| method | NDCG@${k} PBM users | NDCG@${k} cascade users | propensity error, PBM users | propensity error, cascade users (truth not a PBM) |`,
    '| --- | --- | --- | --- | --- |',
    row('ideal (the true grades)', () => 1),
    row('production ranker, without session noise', () => productionNdcg),
    row('production ranker as shown (mean over the sessions, with their noise)', (m) => m.shownNdcg),
    ...JUDGMENT_METHODS.map((method) =>
      method === 'pbm'
        ? row(
            '`pbm` (propensity error: `clickstream bias`)',
            (m) => m.methods.get(method)?.ndcg,
            (m) => m.biasError,
          )
        : row(`\`${method}\``, (m) => m.methods.get(method)?.ndcg),
    ),
    row(
      'reference PBM-EM in memory over the same clicks (not the product)',
      (m) => m.reference.ndcg,
      (m) => m.reference.propensityError,
    ),
    row('reference raw CTR in memory (what `clicks` should give)', (m) => m.reference.ctrNdcg),
  ].join('\n');
}

export function propensityTable(world: World, models: readonly MeasuredModel[]): string {
  const columns = models.flatMap((m) => [
    { title: `\`bias\`, ${m.model} users`, values: propensitiesOf(m.bias, world.parameters.shown) },
    { title: `reference EM, ${m.model} users`, values: m.reference.theta },
  ]);
  return [
    `| position | true theta[k]/theta[0] | ${columns.map((c) => c.title).join(' | ')} |`,
    `| --- | --- | ${columns.map(() => '---').join(' | ')} |`,
    ...world.theta.map(
      (t, k) => `| ${k} | ${f4(t / (world.theta[0] ?? 1))} | ${columns.map((c) => f4(c.values[k])).join(' | ')} |`,
    ),
  ].join('\n');
}

function coverageLine(c: Coverage): string {
  if (coverageIsExact(c))
    return `${int(c.rows)} rows, one per (query, object) shown; impressions, clicks, mean_position exact`;
  return [
    `${int(c.rows)} rows for ${int(c.pairsShown)} pairs shown: MISMATCH`,
    `missing ${c.missing}, unexpected ${c.unexpected}, duplicates ${c.duplicates},`,
    `wrong impressions ${c.wrongImpressions}, clicks ${c.wrongClicks}, mean_position ${c.wrongMeanPosition}`,
  ].join(' ');
}

export function detailsOf(m: MeasuredModel): string {
  const warnings = m.bias.warnings.map((w) => `${w.code} (${w.message})`).join('; ') || 'none';
  return [
    `### ${m.model} users`,
    '',
    `- batch ${m.batch.batchId}: ${int(m.batch.sessions)} sessions, ${int(m.clicks)} clicks, ${int(m.batch.requests)} requests in ${m.batch.seconds.toFixed(1)} s (${int(Math.round(m.batch.sessions / m.batch.seconds))} sessions/s)`,
    `- \`bias\`: model ${m.bias.model}, ${int(m.bias.sessions)} sessions, skipped ${JSON.stringify(m.bias.skipped)}, ${m.bias.iterations} iterations, converged ${m.bias.converged}; warnings: ${warnings}`,
    `- reference EM: ${m.reference.iterations} iterations, ${m.reference.converged ? 'converged (max change < 1e-6)' : 'stopped at the cap (max change still >= 1e-6)'}`,
    ...JUDGMENT_METHODS.map((method) => {
      const measured = m.methods.get(method);
      return `- \`training-data --method ${method}\`: ${measured === undefined ? '—' : coverageLine(measured.coverage)}`;
    }),
  ].join('\n');
}

export interface ReportContext {
  readonly date: string;
  readonly commit: string;
  readonly node: string;
  readonly command: string;
  readonly concurrency: number;
}

export function report(
  world: World,
  productionNdcg: number,
  models: readonly MeasuredModel[],
  ctx: ReportContext,
): string {
  const k = world.parameters.shown;
  return [
    `## Click simulation with known ground truth (${ctx.date})`,
    '',
    `Command: \`${ctx.command}\` (commit ${ctx.commit}, Node ${ctx.node}). A real service process (\`node dist/main.js\`, a scratch SQLite store, late-event grace 0) received every session over HTTP (registration with the ${k} results shown, then its clicks); each user model's sessions were released as a batch of their own, then \`clickstream bias\` and \`clickstream training-data --format judgments\` ran on each batch. NDCG@${k}: each query's ${world.parameters.objects} objects ordered by the method's rating (objects never rated last; ties by a hash of the object id, never by the production order) against the true grades, averaged over the ${world.parameters.queries} queries. Propensity error: max over positions 0-${k - 1} of |estimated propensity - theta[k]/theta[0]|.`,
    '',
    parametersTable(world.parameters, ctx.concurrency),
    '',
    resultsTable(world, productionNdcg, models),
    '',
    'Propensities per position:',
    '',
    propensityTable(world, models),
    '',
    ...models.flatMap((m) => [detailsOf(m), '']),
  ].join('\n');
}
