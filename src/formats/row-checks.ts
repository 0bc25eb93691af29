import type { JudgmentRow, PairRow, Split } from '../learning/rows.js';

/**
 * What a writer refuses before anything reaches the output. Each refusal is a bug upstream: JSON.stringify
 * would turn NaN or Infinity into null and a Parquet INT32 column would truncate a fraction, both silently,
 * and a split written to an output that was not told of one (or missing from one that was) mixes test rows
 * into training.
 */

export function checkSplit(split: Split | null, outputHoldsSplit: boolean): void {
  if (outputHoldsSplit && split === null) {
    throw new Error('row without a split written to an output that holds a split (split: true)');
  }
  if (!outputHoldsSplit && split !== null) {
    throw new Error(`row of split '${split}' written to an output without a split column (pass split: true)`);
  }
}

export function checkPairRow(row: PairRow, outputHoldsSplit: boolean): void {
  checkSplit(row.split, outputHoldsSplit);
  checkPosition('position', row.position);
  checkPosition('negativePosition', row.negativePosition);
  checkFinite('weight', row.weight);
  checkFinite('rating', row.rating);
}

export function checkJudgmentRow(row: JudgmentRow, outputHoldsSplit: boolean): void {
  checkSplit(row.split, outputHoldsSplit);
  checkFinite('rating', row.rating);
  checkCount('impressions', row.impressions);
  checkCount('clicks', row.clicks);
  checkFinite('meanPosition', row.meanPosition);
}

function checkFinite(field: string, value: number | null): void {
  if (value !== null && !Number.isFinite(value)) {
    throw new Error(`${field} is ${String(value)}: a training row's numbers must be finite`);
  }
}

// Positions are written as Parquet INT32, so they must fit one.
const INT32_MAX = 2 ** 31 - 1;

function checkPosition(field: string, value: number | null): void {
  if (value !== null && !(Number.isInteger(value) && value >= 0 && value <= INT32_MAX)) {
    throw new Error(`${field} is ${String(value)}: a position is a 0-based integer`);
  }
}

function checkCount(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${field} is ${String(value)}: a count is a non-negative integer`);
  }
}
