import type { AddEventsBody } from '../schemas/payloads.js';
import type { StoredEvent } from '../schemas/records.js';
import { validationFailed } from './errors.js';
import { sameJson } from './json.js';
import type { IngestRules } from './session.js';
import { timestampProblem } from './time.js';
import { Problems } from './validation.js';

export const DEFAULT_EVENT_TYPE = 'click';

/** An event as the store keeps it; the store adds its position. */
export type NewEvent = Omit<StoredEvent, 'position'> & {
  /** False when created_at is the server's default; such a value is not compared on a re-send. */
  readonly created_at_given: boolean;
};

/** A stored event together with what idempotency comparison needs. */
export type EventRecord = StoredEvent & { readonly created_at_given: boolean };

/**
 * Checks an events request against every rule and returns the events to store, `item_info` folded into
 * `meta`, and repeats of one event within the request collapsed (they count as duplicates). Throws one
 * `validation_failed` error listing every problem.
 */
export function toNewEvents(
  body: AddEventsBody,
  now: number,
  rules: IngestRules,
): { events: NewEvent[]; repeatedInRequest: number } {
  const { limits } = rules;
  const problems = new Problems();
  problems.checkId('session_id', body.session_id, limits);
  problems.checkCount('events', body.events.length, 'maxEventsPerRequest', limits);

  const byId = new Map<string, { index: number; event: NewEvent }>();
  let repeatedInRequest = 0;
  body.events.forEach((input, index) => {
    const path = `events[${index}]`;
    problems.checkId(`${path}.event_id`, input.event_id, limits);
    problems.checkId(`${path}.object_id`, input.object_id, limits);
    if (input.event_type !== undefined) problems.checkId(`${path}.event_type`, input.event_type, limits);
    if (input.created_at !== undefined) {
      const problem = timestampProblem(input.created_at, now, rules.window);
      if (problem !== null) problems.add(`${path}.created_at`, problem);
    }
    const meta = problems.pickMeta(path, input, limits);
    const event: NewEvent = {
      event_id: input.event_id,
      object_id: input.object_id,
      event_type: input.event_type ?? DEFAULT_EVENT_TYPE,
      created_at: input.created_at ?? now,
      created_at_given: input.created_at !== undefined,
      meta,
    };
    const earlier = byId.get(input.event_id);
    if (earlier === undefined) byId.set(input.event_id, { index, event });
    else if (isSameEvent(earlier.event, event)) repeatedInRequest++;
    else problems.add(`${path}.event_id`, `repeats events[${earlier.index}].event_id with different content`);
  });

  if (problems.list.length > 0) throw validationFailed(problems.list);
  return { events: [...byId.values()].map((entry) => entry.event), repeatedInRequest };
}

/**
 * Whether a re-sent event is the one already stored. `created_at` is compared only where both gave one.
 */
export function isSameEvent(stored: Omit<EventRecord, 'position'>, incoming: NewEvent): boolean {
  if (stored.created_at_given && incoming.created_at_given && stored.created_at !== incoming.created_at) return false;
  return (
    stored.object_id === incoming.object_id &&
    stored.event_type === incoming.event_type &&
    sameJson(stored.meta, incoming.meta)
  );
}
