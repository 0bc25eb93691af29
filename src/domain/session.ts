import type { RegisterSessionBody } from '../schemas/payloads.js';
import type { StoredSession } from '../schemas/records.js';
import { type FieldError, validationFailed } from './errors.js';
import { sameJson } from './json.js';
import type { Limits } from './limits.js';
import type { TimeWindow } from './time.js';
import { isRecord, metaOf, Problems, splitOutsideWindow } from './validation.js';

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
 * Every rule a registration breaks beyond its JSON shape (limits, time window, unique object ids). Safe on
 * any value, so that the HTTP layer can report these together with shape errors.
 */
export function sessionProblems(body: unknown, now: number, rules: IngestRules): FieldError[] {
  return checkSession(body, now, rules).list;
}

function checkSession(body: unknown, now: number, rules: IngestRules): Problems {
  const problems = new Problems(rules.limits);
  if (!isRecord(body)) return problems;
  problems.checkId('session_id', body.session_id);
  if (body.search_query !== '') problems.checkSize('search_query', body.search_query, 'maxSearchMetaBytes');
  for (const key of ['search_meta', 'payload_filter', 'sort_by'] as const) {
    problems.checkSize(key, body[key], 'maxSearchMetaBytes');
  }
  problems.checkId('user_id', body.user_id);
  problems.checkTimestamp('created_at', body.created_at, now, rules.window);

  if (!Array.isArray(body.search_results)) return problems;
  problems.checkCount('search_results', body.search_results.length, 'maxResultsPerSession');
  const firstSeen = new Map<string, number>();
  body.search_results.forEach((result: unknown, position) => {
    if (!isRecord(result)) return;
    const path = `search_results[${position}]`;
    if (problems.checkId(`${path}.object_id`, result.object_id) && typeof result.object_id === 'string') {
      const earlier = firstSeen.get(result.object_id);
      if (earlier === undefined) firstSeen.set(result.object_id, position);
      else {
        problems.add(
          `${path}.object_id`,
          `repeats search_results[${earlier}].object_id; object_ids must be unique within a session`,
        );
      }
    }
    problems.checkFinite(`${path}.rank`, result.rank);
    problems.checkMeta(path, result);
  });
  return problems;
}

/**
 * Checks a registration against every rule and returns the session to store, with positions assigned,
 * `item_info` folded into `meta` and nulls read as absent. Throws one `validation_failed` error listing
 * every problem.
 */
export function toNewSession(body: RegisterSessionBody, now: number, rules: IngestRules): NewSession {
  const { session, outsideWindow } = toRetriableSession(body, now, rules);
  if (outsideWindow.length > 0) throw validationFailed(outsideWindow);
  return session;
}

/**
 * {@link toNewSession}, except that a `created_at` outside the time window is returned in `outsideWindow`
 * instead of thrown: the caller accepts it only as a retry of the stored session.
 */
export function toRetriableSession(
  body: RegisterSessionBody,
  now: number,
  rules: IngestRules,
): { session: NewSession; outsideWindow: FieldError[] } {
  const checked = checkSession(body, now, rules);
  const { outsideWindow, others } = splitOutsideWindow(checked);
  if (others.length > 0) throw validationFailed(checked.list);
  return { session: normalizeSession(body, now), outsideWindow };
}

function normalizeSession(body: RegisterSessionBody, now: number): NewSession {
  return {
    session_id: body.session_id,
    search_query: body.search_query,
    search_results: body.search_results.map((result, position) => ({
      object_id: result.object_id,
      position,
      rank: result.rank ?? null,
      meta: metaOf(result),
    })),
    search_meta: body.search_meta ?? null,
    payload_filter: body.payload_filter ?? null,
    sort_by: body.sort_by ?? null,
    user_id: body.user_id ?? null,
    created_at: body.created_at ?? now,
    created_at_given: body.created_at !== undefined && body.created_at !== null,
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
