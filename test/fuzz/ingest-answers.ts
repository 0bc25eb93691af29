/**
 * The ingest route's side of the oracle that needs no model: what every 2xx answer of POST /ingest must
 * look like for its body (one entry per item, in order; a refused item with a code its single route
 * documents, that route's status for it and its paths from the body root; identical items of a section
 * answered alike), and which sessions and events a write may have touched, for comparing them with the
 * store after any write (a refused item or body must have stored nothing).
 */
import type { ErrorCode } from '../../src/domain/errors.js';
import {
  canonical,
  ingestItems,
  isPlausibleId,
  isRecord,
  itemBody,
  ModelMismatch,
  parsedBody,
  type IngestItems,
} from './model.js';
import type { HttpResponse } from './raw-client.js';
import type { Prepared } from './request-bytes.js';
import { INGEST_SECTIONS, ITEM_CODES, ROUTES, type RouteName } from './routes.js';

/** The invariants of a 2xx answer of the ingest route; none for other answers and routes. */
export function ingestAnswerProblems(request: Prepared, response: HttpResponse): string[] {
  const { status } = response;
  if (request.route !== 'ingest' || request.method === 'HEAD' || status < 200 || status >= 300) return [];
  let answer: unknown;
  try {
    answer = JSON.parse(response.body.toString('utf8'));
  } catch {
    return []; // responseProblems reports a 2xx that is not JSON
  }
  let items: IngestItems;
  try {
    items = ingestItems(parsedBody(request.body));
  } catch (error) {
    if (!(error instanceof ModelMismatch)) throw error;
    return [`answered ${status} for a body to refuse whole: ${error.message}`];
  }
  const results = isRecord(answer) ? answer.results : undefined;
  if (!isRecord(results)) return [`answered ${status} without results: ${canonical(answer).slice(0, 300)}`];
  const sections: readonly string[] = INGEST_SECTIONS.map(({ section }) => section);
  const problems = Object.keys(results)
    .filter((key) => !sections.includes(key))
    .map((key) => `answered results.${key}, which is no section`);
  for (const { section, route } of INGEST_SECTIONS) {
    const list = items[section];
    const entries = results[section];
    if (!Array.isArray(entries) || entries.length !== list.length) {
      problems.push(`answered results.${section} ${canonical(entries).slice(0, 200)} for ${list.length} items`);
      continue;
    }
    // Identical items of one section meet the same stored data and rules, whichever commits first.
    const firstOf = new Map<string, number>();
    entries.forEach((entry: unknown, index) => {
      const at = `${section}[${index}]`;
      problems.push(...entryProblems(route, at, entry));
      const same = canonical(itemBody(route, list[index]));
      const first = firstOf.get(same);
      if (first === undefined) firstOf.set(same, index);
      else if (outcome(entries[first]) !== outcome(entry)) {
        problems.push(
          `answered ${at} ${outcome(entry)} and the identical ${section}[${first}] ${outcome(entries[first])}`,
        );
      }
    });
  }
  return problems;
}

/** How each item of a 2xx ingest answer was answered (`events 409 event_conflict`), for the summary. */
export function ingestOutcomes(request: Prepared, response: HttpResponse): string[] {
  if (request.route !== 'ingest' || request.method === 'HEAD' || response.status >= 300) return [];
  try {
    const results: unknown = (JSON.parse(response.body.toString('utf8')) as { results?: unknown }).results;
    if (!isRecord(results)) return [];
    return INGEST_SECTIONS.flatMap(({ section }) => {
      const entries = results[section];
      return Array.isArray(entries) ? entries.map((entry) => `${section} ${outcome(entry)}`) : [];
    });
  } catch {
    return [];
  }
}

/** An entry's status and code, as text. */
function outcome(entry: unknown): string {
  if (!isRecord(entry)) return canonical(entry);
  return typeof entry.code === 'string' ? `${String(entry.status)} ${entry.code}` : String(entry.status);
}

/** The shape of one item's entry: accepted (status 200, the single route's answer) or refused. */
function entryProblems(route: 'register' | 'events' | 'irrelevant', at: string, entry: unknown): string[] {
  if (!isRecord(entry)) return [`answered ${at} with ${canonical(entry).slice(0, 200)}, not an object`];
  const { status, code, detail, errors } = entry;
  if (status === 200) {
    const refusal = ['code', 'detail', 'errors'].filter((key) => key in entry);
    return refusal.length > 0 ? [`answered ${at} 200 with ${refusal.join(', ')}`] : [];
  }
  const problems: string[] = [];
  const shown = canonical(entry).slice(0, 300);
  if (typeof code !== 'string' || !ITEM_CODES[route].has(code as ErrorCode)) {
    problems.push(
      `answered ${at} with ${String(code)}, which is no code an item of ${route} is refused with: ${shown}`,
    );
  } else if (status !== ROUTES[route].statusOf(code as ErrorCode)) {
    problems.push(
      `answered ${at} ${String(status)} for ${code}, which ${route} answers with ${ROUTES[route].statusOf(code as ErrorCode)}`,
    );
  }
  if (typeof detail !== 'string' || detail === '') problems.push(`answered ${at} without a detail: ${shown}`);
  const extra = Object.keys(entry).filter((key) => !['status', 'code', 'detail', 'errors'].includes(key));
  if (extra.length > 0) problems.push(`answered ${at} refused with the fields ${extra.join(', ')}`);
  if (!Array.isArray(errors) || errors.length === 0) {
    problems.push(`answered ${at} refused without errors: ${shown}`);
    return problems;
  }
  for (const error of errors) {
    const path = isRecord(error) ? error.path : undefined;
    const inside = typeof path === 'string' && (path === at || path.startsWith(`${at}.`) || path.startsWith(`${at}[`));
    if (!inside || !isRecord(error) || typeof error.message !== 'string') {
      problems.push(`answered ${at} with an error not at the item: ${canonical(error).slice(0, 200)}`);
    }
  }
  return problems;
}

/**
 * The sessions (by id) and their events (by id) that a write with this body may have changed: those it
 * names; for an ingest body, those its items name, also when the body as a whole was refused.
 */
export function writeTargets(route: RouteName, body: unknown): Map<string, Set<string>> {
  const targets = new Map<string, Set<string>>();
  const add = (single: unknown, withEvents: boolean) => {
    if (!isRecord(single) || !isPlausibleId(single.session_id)) return;
    const events = targets.get(single.session_id) ?? new Set<string>();
    targets.set(single.session_id, events);
    if (!withEvents || !Array.isArray(single.events)) return;
    for (const event of single.events) {
      if (isRecord(event) && isPlausibleId(event.event_id)) events.add(event.event_id);
    }
  };
  if (route === 'register' || route === 'irrelevant') add(body, false);
  else if (route === 'events') add(body, true);
  else if (route === 'ingest' && isRecord(body)) {
    for (const { section, route: itemRoute } of INGEST_SECTIONS) {
      const list = body[section];
      if (!Array.isArray(list)) continue;
      for (const item of list) add(itemBody(itemRoute, item), itemRoute === 'events');
    }
  }
  return targets;
}
