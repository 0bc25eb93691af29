#!/usr/bin/env node
/**
 * A trainer for `clickstream worker --exec`: learns a re-ranking table from PBM judgments and measures it
 * against the production ranker's order on held-out sessions. Plain Node 20, no dependency.
 *
 * Assumes a task of `method: "pbm"`, params `{"format": "judgments", "test_fraction": 0.3, "split_by":
 * "session"}`: JSON Lines, one line per (query, object, split), `{"query", "object_id", "rating",
 * "impressions", "clicks", "mean_position", "split": "train"|"test"}`. `rating` is PBM's attractiveness
 * (position bias removed); `mean_position` the average 0-based position when shown (the production order).
 * Split by session, the same queries are on both sides.
 *
 * - Table (`rerank-table.json`, `{"<query>": ["<object_id>", ...]}`): per query, the train part's objects
 *   by rating, highest first; ties by lower mean_position, then object_id.
 * - Evaluation, per query with test rows: its test objects in the production order (by mean_position)
 *   and re-ranked by the table (objects the table lacks after the known ones, in the production order).
 *   NDCG@k, rel = the test part's rating, gain = rel (linear: ratings are probabilities in [0, 1]),
 *   discount 1 / log2(rank + 2) for 0-based rank, ideal = the test objects by rel. Averaged over queries;
 *   a query whose test ratings are all 0 has no ideal: left out, counted as queries_without_gain.
 *
 * Input: the worker's CLICKSTREAM_TRAINING_DATA, CLICKSTREAM_RESULT_FILE, CLICKSTREAM_TASK_ID and
 * CLICKSTREAM_TASK_JSON, or the flags (see HELP). A refusal exits 1 with its reason on stderr.
 */
import { createReadStream } from 'node:fs';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const HELP = `Usage: node examples/rerank-trainer.mjs [--data FILE] [--result FILE] [--output-dir DIR] [--k 10]

  --data FILE        judgments JSON Lines with a split column (default: $CLICKSTREAM_TRAINING_DATA)
  --result FILE      where to write the result JSON (default: $CLICKSTREAM_RESULT_FILE, else stdout)
  --output-dir DIR   where to write rerank-table.json (default: ./models/<task id or 'manual'>)
  --k N              NDCG cut-off (default 10; the metrics are named ndcg_at_<k>_...)
  -h, --help         this help

The task id is $CLICKSTREAM_TASK_ID, else the "id" of $CLICKSTREAM_TASK_JSON.`;

/** An input this trainer will not use: its message is the whole story. */
class Refusal extends Error {}
const log = (line) => process.stderr.write(`rerank-trainer: ${line}\n`);

function options() {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      result: { type: 'string' },
      'output-dir': { type: 'string' },
      k: { type: 'string', default: '10' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return null;
  const env = process.env;
  const task = checkTask(env.CLICKSTREAM_TASK_JSON);
  const taskId = env.CLICKSTREAM_TASK_ID || (typeof task?.id === 'string' ? task.id : '');
  const data = values.data ?? env.CLICKSTREAM_TRAINING_DATA;
  if (!data) throw new Refusal('no training data: pass --data FILE or set CLICKSTREAM_TRAINING_DATA');
  const k = Number(values.k);
  if (!Number.isInteger(k) || k < 1) throw new Refusal(`--k: a positive integer, got ${values.k}`);
  let outputDir = values['output-dir'];
  if (outputDir === undefined) {
    if (taskId && !/^[\w-][\w.-]*$/.test(taskId)) throw new Refusal(`task id ${taskId}: unsafe as a directory name`);
    outputDir = join('models', taskId || 'manual');
  }
  return { data, result: values.result ?? env.CLICKSTREAM_RESULT_FILE, outputDir, k, taskId };
}

/** Parses the task JSON, if any, and refuses params this trainer cannot use. */
function checkTask(text) {
  if (!text) return null;
  let task;
  try {
    task = JSON.parse(text);
  } catch {
    throw new Refusal('CLICKSTREAM_TASK_JSON is not JSON');
  }
  const { format, split_by: splitBy } = task?.params ?? {};
  if (format !== undefined && format !== 'judgments') throw new Refusal(`format ${format}: this reads "judgments"`);
  if (splitBy !== undefined && splitBy !== 'session') {
    throw new Refusal(`split_by ${splitBy}: a re-ranker needs "session" (the same queries in train and test)`);
  }
  if (task?.method !== undefined && task.method !== 'pbm') log(`method ${task.method}, not pbm: ratings used as given`);
  return task;
}

/** One judgment line, checked; `where` names the file and line in refusals. */
function judgment(line, where) {
  let row;
  try {
    row = JSON.parse(line);
  } catch {
    throw new Refusal(`${where}: not JSON`);
  }
  if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new Refusal(`${where}: not a JSON object`);
  if (!('split' in row)) {
    throw new Refusal(`${where}: no "split" column (make one file: --test-fraction, --split-by session, no --output)`);
  }
  if (row.split !== 'train' && row.split !== 'test') throw new Refusal(`${where}: split is not "train" or "test"`);
  for (const key of ['query', 'object_id']) {
    if (typeof row[key] !== 'string') throw new Refusal(`${where}: ${key} is not a string`);
  }
  for (const key of ['rating', 'mean_position']) {
    const ok = typeof row[key] === 'number' && Number.isFinite(row[key]) && row[key] >= 0;
    if (!ok) throw new Refusal(`${where}: ${key} is not a number >= 0`);
  }
  const { query, object_id: objectId, rating, mean_position: meanPosition, split } = row;
  return { query, objectId, rating, meanPosition, split };
}

/** Reads the file line by line into { train, test }: maps of query -> rows, and their row counts. */
async function readJudgments(path) {
  const info = await stat(path).catch((error) => {
    throw new Refusal(`cannot read the training data ${path}: ${error.code ?? error.message}`);
  });
  if (!info.isFile()) throw new Refusal(`the training data ${path} is not a file`);
  const parts = { train: new Map(), test: new Map() };
  const counts = { train: 0, test: 0 };
  const seen = new Set();
  let number = 0;
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    number++;
    if (line.trim() === '') continue;
    const where = `${basename(path)} line ${number}`;
    const { split, ...row } = judgment(line, where);
    const key = JSON.stringify([split, row.query, row.objectId]);
    if (seen.has(key)) throw new Refusal(`${where}: a second ${split} row for ${row.query} / ${row.objectId}`);
    seen.add(key);
    if (parts[split].has(row.query)) parts[split].get(row.query).push(row);
    else parts[split].set(row.query, [row]);
    counts[split]++;
  }
  if (counts.train + counts.test === 0) throw new Refusal(`${path} holds no judgment`);
  if (counts.test === 0) throw new Refusal(`${path} has no test rows: the task needs a test_fraction`);
  if (counts.train === 0) throw new Refusal(`${path} has no train rows`);
  return { ...parts, counts };
}

const byId = (a, b) => (a.objectId < b.objectId ? -1 : a.objectId > b.objectId ? 1 : 0);
const productionOrder = (a, b) => a.meanPosition - b.meanPosition || byId(a, b);
const byRating = (a, b) => b.rating - a.rating || productionOrder(a, b);

/** query -> object ids, best first (a Map: queries are user text, "__proto__" included). */
function learnTable(train) {
  const queries = [...train.keys()].sort();
  return new Map(queries.map((q) => [q, [...train.get(q)].sort(byRating).map((r) => r.objectId)]));
}

/** A query's test rows re-ranked by its table entry: known ones by table rank, then the rest as shown. */
function rerank(rows, ranked = []) {
  const rank = new Map(ranked.map((id, i) => [id, i]));
  const original = [...rows].sort(productionOrder);
  const known = original.filter((r) => rank.has(r.objectId));
  known.sort((a, b) => rank.get(a.objectId) - rank.get(b.objectId));
  return [...known, ...original.filter((r) => !rank.has(r.objectId))];
}

/** DCG@k of rows in ranked order: gain = rating, discount 1 / log2(rank + 2). */
const dcg = (rows, k) => rows.slice(0, k).reduce((sum, r, rank) => sum + r.rating / Math.log2(rank + 2), 0);

function evaluate(test, table, k) {
  const total = { original: 0, reranked: 0, evaluated: 0, withoutGain: 0 };
  for (const [query, rows] of test) {
    const ideal = dcg([...rows].sort(byRating), k);
    if (ideal === 0) {
      total.withoutGain++;
      continue;
    }
    total.original += dcg([...rows].sort(productionOrder), k) / ideal;
    total.reranked += dcg(rerank(rows, table.get(query)), k) / ideal;
    total.evaluated++;
  }
  if (total.evaluated === 0) throw new Refusal('no test query has a rating above 0: nothing to evaluate');
  return { ...total, original: total.original / total.evaluated, reranked: total.reranked / total.evaluated };
}

/** Writes through a temporary file and a rename, so no reader sees half a file. */
async function writeJson(path, value) {
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.${process.pid}.partial`;
  await writeFile(partial, `${JSON.stringify(value, null, 2)}\n`);
  await rename(partial, path);
}

async function main() {
  const opts = options();
  if (opts === null) return void process.stdout.write(`${HELP}\n`);
  const { train, test, counts } = await readJudgments(opts.data);
  const table = learnTable(train);
  const score = evaluate(test, table, opts.k);
  const tablePath = resolve(opts.outputDir, 'rerank-table.json');
  await writeJson(tablePath, Object.fromEntries(table));
  const result = {
    best_model_url: pathToFileURL(tablePath).href,
    best_model_id: `${opts.taskId || 'manual'}-rerank`,
    metrics: {
      [`ndcg_at_${opts.k}_original`]: score.original,
      [`ndcg_at_${opts.k}_reranked`]: score.reranked,
      queries_evaluated: score.evaluated,
      queries_without_gain: score.withoutGain,
      train_judgments: counts.train,
      test_judgments: counts.test,
    },
  };
  if (opts.result) await writeJson(resolve(opts.result), result);
  else process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  const [before, after] = [score.original.toFixed(4), score.reranked.toFixed(4)];
  log(`${table.size} queries; NDCG@${opts.k} ${before} as shown, ${after} re-ranked (${score.evaluated} evaluated)`);
}

try {
  await main();
} catch (error) {
  const usage = typeof error?.code === 'string' && error.code.startsWith('ERR_PARSE_ARGS');
  log(error instanceof Refusal ? error.message : usage ? `${error.message} (see --help)` : (error?.stack ?? error));
  process.exitCode = 1;
}
