/**
 * What the training-data methods produce, before any file format: pairs for training (a query and a
 * document it should match, and for skip-above one it should match less), and judgments (a rating per
 * query and object). Format writers (src/formats/) turn them into files; nothing here knows of storage.
 */

/** The training-data methods (DESIGN.md section 6 says what each assumes). */
export const TRAINING_METHODS = ['clicks', 'skip-above', 'pbm', 'coec'] as const;
export type TrainingMethod = (typeof TRAINING_METHODS)[number];

/** Which part of a split a row belongs to (`--test-fraction`). */
export type Split = 'train' | 'test';

/**
 * One training example. Per-session methods (clicks, skip-above) give one row per interaction or pair,
 * with the session and positions it came from; aggregated methods (pbm, coec) give one row per (query,
 * object) rated at least the minimum rating, with no session and no single position.
 */
export interface PairRow {
  /** The query text: the anchor of sentence-transformers' losses. */
  readonly anchor: string;
  /** The document text of the object that should match the query. */
  readonly positive: string;
  /** skip-above only: the document text of an object shown above the positive and not interacted with. */
  readonly negative: string | null;
  readonly method: TrainingMethod;
  /** Per-session methods: the session the row comes from; null for aggregated methods. */
  readonly sessionId: string | null;
  readonly objectId: string;
  /** 0-based position of the positive in its session; null for aggregated methods. */
  readonly position: number | null;
  readonly negativeObjectId: string | null;
  readonly negativePosition: number | null;
  /** Per-session methods: the interaction's event weight (its highest in the session). Else null. */
  readonly weight: number | null;
  /** Aggregated methods: pbm's estimated attractiveness, coec's ratio. Else null. */
  readonly rating: number | null;
  /** Set when one output holds both parts of a split; null otherwise. */
  readonly split: Split | null;
}

/** A rating of one (query, object) that was shown, by one method. */
export interface JudgmentRow {
  readonly query: string;
  readonly objectId: string;
  /** clicks: raw CTR; coec: clicks over expected clicks; pbm: attractiveness; skip-above: share of won pairs. */
  readonly rating: number;
  /** Sessions that showed the object for the query. */
  readonly impressions: number;
  /** Sessions that interacted with it (an event type of weight above 0). */
  readonly clicks: number;
  /** Its average 0-based position when shown. */
  readonly meanPosition: number;
  readonly split: Split | null;
}
