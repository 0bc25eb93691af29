import type { RegisterSessionBody } from '../schemas/payloads.js';
import type { StoredSession } from '../schemas/records.js';
import { validationFailed } from './errors.js';
import { sameJson } from './json.js';
import type { Limits } from './limits.js';
import { timestampProblem, type TimeWindow } from './time.js';
import { Problems } from './validation.js';

/** A session as the store keeps it, before it is placed in a batch. */
export type NewSession = Omit<StoredSession, 'batch_id' | 'session_number' | 'is_irrelevant'> & {
  /** False when created_at is the server's default; such a value is not compared on re-registration. */
  readonly created_at_given: boolean;
};

/** A stored session together with what idempotency comparison needs. */
export type SessionRecord = StoredSession & { readonly created_at_given: boolean };

export interface IngestRules {
  readonly limits: Limits;
  readonly window: TimeWindow;
}

/**
 * Checks a registration against every rule and returns the session to store, with positions assigned
 * and `item_info` folded into `meta`. Throws one `validation_failed` error listing every problem.
 */
export function toNewSession(body: RegisterSessionBody, now: number, rules: IngestRules): NewSession {
  const { limits } = rules;
  const problems = new Problems();
  problems.checkId('session_id', body.session_id, limits);
  if (typeof body.search_query !== 'string' || body.search_query.length > 0) {
    problems.checkSize('search_query', body.search_query, 'maxSearchMetaBytes', limits);
  }
  for (const key of ['search_meta', 'payload_filter', 'sort_by'] as const) {
    if (body[key] !== undefined) problems.checkSize(key, body[key], 'maxSearchMetaBytes', limits);
  }
  if (body.user_id !== undefined) problems.checkId('user_id', body.user_id, limits);
  if (body.created_at !== undefined) {
    const problem = timestampProblem(body.created_at, now, rules.window);
    if (problem !== null) problems.add('created_at', problem);
  }

  problems.checkCount('search_results', body.search_results.length, 'maxResultsPerSession', limits);
  const firstSeen = new Map<string, number>();
  const search_results = body.search_results.map((result, position) => {
    const path = `search_results[${position}]`;
    problems.checkId(`${path}.object_id`, result.object_id, limits);
    const earlier = firstSeen.get(result.object_id);
    if (earlier === undefined) firstSeen.set(result.object_id, position);
    else
      problems.add(
        `${path}.object_id`,
        `repeats search_results[${earlier}].object_id; object_ids must be unique within a session`,
      );
    if (result.rank !== undefined && !Number.isFinite(result.rank))
      problems.add(`${path}.rank`, 'must be a finite number');
    const meta = problems.pickMeta(path, result, limits);
    return { object_id: result.object_id, position, rank: result.rank ?? null, meta };
  });

  if (problems.list.length > 0) throw validationFailed(problems.list);
  return {
    session_id: body.session_id,
    search_query: body.search_query,
    search_results,
    search_meta: body.search_meta ?? null,
    payload_filter: body.payload_filter ?? null,
    sort_by: body.sort_by ?? null,
    user_id: body.user_id ?? null,
    created_at: body.created_at ?? now,
    created_at_given: body.created_at !== undefined,
  };
}

/**
 * Whether a re-registration describes the same search as the stored session. `created_at` is compared
 * only where both requests gave one: a retry without it must not conflict with the server's default.
 */
export function isSameSession(stored: SessionRecord, incoming: NewSession): boolean {
  if (stored.created_at_given && incoming.created_at_given && stored.created_at !== incoming.created_at) return false;
  return (
    stored.user_id === incoming.user_id &&
    sameJson(stored.search_query, incoming.search_query) &&
    sameJson(stored.search_results, incoming.search_results) &&
    sameJson(stored.search_meta, incoming.search_meta) &&
    sameJson(stored.payload_filter, incoming.payload_filter) &&
    sameJson(stored.sort_by, incoming.sort_by)
  );
}
