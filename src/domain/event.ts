import type { AddEventsBody, EventInput } from '../schemas/payloads.js';
import type { StoredEvent } from '../schemas/records.js';
import { type FieldError, validationFailed } from './errors.js';
import { sameJson } from './json.js';
import type { IngestRules } from './session.js';
import { isRecord, metaOf, Problems, splitOutsideWindow } from './validation.js';

export const DEFAULT_EVENT_TYPE = 'click';

/** An event as the store keeps it; the store adds its position. */
export type NewEvent = Omit<StoredEvent, 'position'> & {
  /** False when created_at is the server's default; such a value is not compared on a re-send. */
  readonly created_at_given: boolean;
};

/** A stored event together with what idempotency comparison needs. */
export type EventRecord = StoredEvent & { readonly created_at_given: boolean };

/**
 * Every rule an events request breaks beyond its JSON shape (limits, time window, one event_id with two
 * contents). Safe on any value, so that the HTTP layer can report these together with shape errors.
 */
export function eventsProblems(body: unknown, now: number, rules: IngestRules): FieldError[] {
  return checkEvents(body, now, rules).list;
}

function checkEvents(body: unknown, now: number, rules: IngestRules): Problems {
  const problems = new Problems(rules.limits);
  if (!isRecord(body)) return problems;
  problems.checkId('session_id', body.session_id);
  if (!Array.isArray(body.events)) return problems;
  problems.checkCount('events', body.events.length, 'maxEventsPerRequest');
  const firstSeen = new Map<string, { index: number; input: Record<string, unknown> }>();
  body.events.forEach((input: unknown, index) => {
    if (!isRecord(input)) return;
    const path = `events[${index}]`;
    const validId = problems.checkId(`${path}.event_id`, input.event_id);
    problems.checkId(`${path}.object_id`, input.object_id);
    problems.checkId(`${path}.event_type`, input.event_type);
    problems.checkTimestamp(`${path}.created_at`, input.created_at, now, rules.window);
    problems.checkMeta(path, input);
    if (!validId || typeof input.event_id !== 'string') return;
    const earlier = firstSeen.get(input.event_id);
    if (earlier === undefined) firstSeen.set(input.event_id, { index, input });
    else if (!sameContent(earlier.input, input)) {
      problems.add(`${path}.event_id`, `repeats events[${earlier.index}].event_id with different content`);
    }
  });
  return problems;
}

/** Same event content for two raw inputs of one request; created_at is compared where both gave one. */
function sameContent(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const given = (x: Record<string, unknown>) => x.created_at !== undefined && x.created_at !== null;
  if (given(a) && given(b) && a.created_at !== b.created_at) return false;
  return (
    a.object_id === b.object_id &&
    (a.event_type ?? DEFAULT_EVENT_TYPE) === (b.event_type ?? DEFAULT_EVENT_TYPE) &&
    sameJson(a.meta ?? a.item_info ?? null, b.meta ?? b.item_info ?? null)
  );
}

/** Events ready to store, from {@link toNewEvents}. */
export interface NewEvents {
  readonly events: NewEvent[];
  /** Repeats of an event within the request, collapsed; they count as duplicates. */
  readonly repeatedInRequest: number;
}

/**
 * Checks an events request against every rule and returns the events to store: `item_info` folded into
 * `meta`, nulls read as absent, and repeats of one event within the request collapsed (a client
 * timestamp given by any repeat is kept). Throws one `validation_failed` error listing every problem.
 */
export function toNewEvents(body: AddEventsBody, now: number, rules: IngestRules): NewEvents {
  const { outsideWindow, ...checked } = toRetriableEvents(body, now, rules);
  if (outsideWindow.length > 0) throw validationFailed(outsideWindow.map((late) => late.problem));
  return checked;
}

/**
 * {@link toNewEvents}, except that events whose timestamp is outside the time window are returned in
 * `outsideWindow` instead of thrown: the caller accepts them only as re-sends of stored events.
 */
export function toRetriableEvents(
  body: AddEventsBody,
  now: number,
  rules: IngestRules,
): NewEvents & { outsideWindow: { problem: FieldError; event: NewEvent }[] } {
  const checked = checkEvents(body, now, rules);
  const { outsideWindow, others } = splitOutsideWindow(checked);
  if (others.length > 0) throw validationFailed(checked.list);
  const late = outsideWindow.map((problem) => {
    const input = body.events[Number(/^events\[(\d+)\]/.exec(problem.path)?.[1])];
    if (!input) throw new Error(`no event at ${problem.path}`);
    return { problem, event: toNewEvent(input, now) };
  });
  const byId = new Map<string, NewEvent>();
  for (const input of body.events) {
    const event = toNewEvent(input, now);
    const earlier = byId.get(event.event_id);
    if (!earlier || (!earlier.created_at_given && event.created_at_given)) byId.set(event.event_id, event);
  }
  return { events: [...byId.values()], repeatedInRequest: body.events.length - byId.size, outsideWindow: late };
}

function toNewEvent(input: EventInput, now: number): NewEvent {
  const createdAtGiven = input.created_at !== undefined && input.created_at !== null;
  return {
    event_id: input.event_id,
    object_id: input.object_id,
    event_type: input.event_type ?? DEFAULT_EVENT_TYPE,
    created_at: input.created_at ?? now,
    created_at_given: createdAtGiven,
    meta: metaOf(input),
  };
}

/**
 * Whether a re-sent event is the one already stored. `created_at` is compared only where both gave one.
 */
export function isSameEvent(stored: NewEvent, incoming: NewEvent): boolean {
  if (stored.created_at_given && incoming.created_at_given && stored.created_at !== incoming.created_at) return false;
  return (
    stored.object_id === incoming.object_id &&
    stored.event_type === incoming.event_type &&
    sameJson(stored.meta, incoming.meta)
  );
}
