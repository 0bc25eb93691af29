/**
 * The query strings of the training-data routes: the flags of `clickstream bias` and `training-data` in
 * snake_case, as text; their values are checked by the same parser as the flags (training-options.ts),
 * so both answer a wrong value with the same message.
 */
import { Type, type Static } from 'typebox';
import { QueryId } from './payloads.js';

// No control characters anywhere: a NUL cannot even reach PostgreSQL as text.
const Text = (description: string) =>
  Type.Optional(Type.String({ description, pattern: '^[^\\u0000-\\u001F\\u007F]*$' }));

const SIGNAL_QUERY = {
  batch_id: QueryId('The released batch to read.'),
  max_position: Text(
    'Read positions 0 to N-1 only (default 10 for bias, pbm and coec; every position for clicks and skip-above).',
  ),
  query_field: Text(
    'Dot path of the query text in a structured search_query; without it, structured queries are skipped.',
  ),
  document_field: Text("Dot path of the document text in each result's meta; default: the object_id."),
  event_weights: Text('Weights by event type, merged over click=1,add_to_cart=2,purchase=3 (type=0 drops one).'),
};

export const BiasQuery = Type.Object(SIGNAL_QUERY, { additionalProperties: false });
export type BiasQuery = Static<typeof BiasQuery>;

export const TrainingDataQuery = Type.Object(
  {
    ...SIGNAL_QUERY,
    method: Type.String({ description: 'clicks, skip-above, pbm or coec.' }),
    format: Text('sentence-transformers, jsonl (default), judgments or parquet.'),
    test_fraction: Text(
      'Share of the test part, in (0, 1); the answer gets a split column (not for sentence-transformers).',
    ),
    split_by: Text('query (default) or session.'),
    min_rating: Text('pbm and coec: the lowest rating of a positive (default 0.5 for pbm, 1.0 for coec).'),
  },
  { additionalProperties: false },
);
export type TrainingDataQuery = Static<typeof TrainingDataQuery>;
