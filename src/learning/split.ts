/**
 * Train/test splits by a hash: of the query (no query on both sides, for embedding training: the test
 * part measures generalisation to new queries) or of the session (the same queries on both sides, for a
 * ranker of known queries). A hash, not a random draw, so that a rerun splits the same way.
 */
import { createHash } from 'node:crypto';
import type { Split } from './rows.js';

export const SPLIT_BY = ['query', 'session'] as const;
export type SplitBy = (typeof SPLIT_BY)[number];

export interface SplitRule {
  /** Share of the test part, in (0, 1). */
  readonly testFraction: number;
  readonly by: SplitBy;
}

/** The part of a key (a query text or a session id): test when its hash falls below the fraction. */
export function splitOf(key: string, testFraction: number): Split {
  const hash = createHash('sha256').update(key).digest();
  return hash.readUInt32BE(0) / 0x1_0000_0000 < testFraction ? 'test' : 'train';
}
