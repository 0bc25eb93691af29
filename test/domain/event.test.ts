import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FieldError } from '../../src/domain/errors.js';
import { DEFAULT_EVENT_TYPE, isSameEvent, toNewEvents, type NewEvent } from '../../src/domain/event.js';
import { DEFAULT_LIMITS } from '../../src/domain/limits.js';
import type { IngestRules } from '../../src/domain/session.js';
import type { AddEventsBody, EventInput } from '../../src/schemas/payloads.js';
import { id, makeEvent } from '../support/factories.js';
import { DEFAULT_RULES, fieldErrorsOf, onlyFieldError } from '../support/rules.js';

const NOW = 1_703_400_000;
const RULES = DEFAULT_RULES;

function request(events: EventInput[], session_id = id('session')): AddEventsBody {
  return { session_id, events };
}

function problemsOf(body: AddEventsBody, rules: IngestRules = RULES): readonly FieldError[] {
  return fieldErrorsOf(() => toNewEvents(body, NOW, rules));
}

function onlyProblem(body: AddEventsBody, path: string, rules: IngestRules = RULES): string {
  return onlyFieldError(() => toNewEvents(body, NOW, rules), path);
}

function newEvent(overrides: Partial<NewEvent> = {}): NewEvent {
  return {
    event_id: 'e1',
    object_id: 'o1',
    event_type: 'click',
    created_at: NOW,
    created_at_given: true,
    meta: null,
    ...overrides,
  };
}

describe('toNewEvents', () => {
  it('keeps the events in order, with event_type click by default', () => {
    const events = [
      makeEvent({ event_type: 'add_to_cart', created_at: NOW - 5 }),
      { event_id: id('event'), object_id: id('object') },
    ];
    const result = toNewEvents(request(events), NOW, RULES);
    assert.equal(result.repeatedInRequest, 0);
    assert.equal(DEFAULT_EVENT_TYPE, 'click');
    assert.deepEqual(result.events, [
      {
        event_id: events[0]?.event_id,
        object_id: events[0]?.object_id,
        event_type: 'add_to_cart',
        created_at: NOW - 5,
        created_at_given: true,
        meta: null,
      },
      {
        event_id: events[1]?.event_id,
        object_id: events[1]?.object_id,
        event_type: 'click',
        created_at: NOW,
        created_at_given: false,
        meta: null,
      },
    ]);
  });

  it('folds item_info into meta', () => {
    const result = toNewEvents(
      request([makeEvent({ item_info: { a: 1 } }), makeEvent({ meta: { b: 2 } })]),
      NOW,
      RULES,
    );
    assert.deepEqual(
      result.events.map((e) => e.meta),
      [{ a: 1 }, { b: 2 }],
    );
  });

  it('accepts an empty list of events', () => {
    assert.deepEqual(toNewEvents(request([]), NOW, RULES), { events: [], repeatedInRequest: 0 });
  });

  it('collapses repeats of the same event within a request and counts them', () => {
    const event = makeEvent({ created_at: NOW - 1, meta: { a: 1, b: 2 } });
    const other = makeEvent();
    const result = toNewEvents(
      request([event, other, { ...event, meta: { b: 2, a: 1 } }, structuredClone(event)]),
      NOW,
      RULES,
    );
    assert.equal(result.repeatedInRequest, 2);
    assert.deepEqual(
      result.events.map((e) => e.event_id),
      [event.event_id, other.event_id],
    );
  });

  it('collapses a repeat that leaves out created_at', () => {
    const event = makeEvent({ created_at: NOW - 1 });
    const { created_at: _omitted, ...withoutTime } = event;
    const result = toNewEvents(request([event, withoutTime]), NOW, RULES);
    assert.equal(result.repeatedInRequest, 1);
    assert.equal(result.events.length, 1);
  });

  it('rejects repeats of an event_id with different content, naming the first index', () => {
    const event = makeEvent({ created_at: NOW - 1 });
    const variants: EventInput[] = [
      { ...event, object_id: 'other' },
      { ...event, event_type: 'view' },
      { ...event, created_at: NOW - 2 },
      { ...event, meta: { x: 1 } },
    ];
    for (const variant of variants) {
      const message = onlyProblem(request([makeEvent(), event, variant]), 'events[2].event_id');
      assert.ok(message.includes('events[1].event_id'), message);
      assert.match(message, /different content/);
    }
  });

  it('treats a missing event_type as click when comparing repeats', () => {
    const event = makeEvent({ event_type: 'click' });
    const { event_type: _omitted, ...withoutType } = event;
    assert.equal(toNewEvents(request([event, withoutType]), NOW, RULES).repeatedInRequest, 1);
  });

  it('rejects more events than the limit naming CLICKSTREAM_MAX_EVENTS_PER_REQUEST', () => {
    const rules: IngestRules = { ...RULES, limits: { ...DEFAULT_LIMITS, maxEventsPerRequest: 2 } };
    assert.doesNotThrow(() => toNewEvents(request([makeEvent(), makeEvent()]), NOW, rules));
    const message = onlyProblem(request([makeEvent(), makeEvent(), makeEvent()]), 'events', rules);
    assert.ok(message.includes('CLICKSTREAM_MAX_EVENTS_PER_REQUEST'), message);
  });

  it('names each offending field by its path', () => {
    const events = [
      makeEvent(),
      makeEvent(),
      makeEvent({ created_at: 1703376873000 }),
      makeEvent({ object_id: '' }),
      makeEvent({ event_id: 'e\u0007' }),
      makeEvent({ event_type: 'x'.repeat(300) }),
      makeEvent({ meta: {}, item_info: {} }),
      makeEvent({ meta: { t: 'x'.repeat(16 * 1024) } }),
    ];
    const problems = problemsOf(request(events, 's\ud800'));
    assert.deepEqual(
      problems.map((p) => p.path),
      [
        'session_id',
        'events[2].created_at',
        'events[3].object_id',
        'events[4].event_id',
        'events[5].event_type',
        'events[6].item_info',
        'events[7].meta',
      ],
    );
    const byPath = new Map(problems.map((p) => [p.path, p.message]));
    assert.match(byPath.get('events[2].created_at') ?? '', /looks like milliseconds.*\(1703376873\)/);
    assert.match(byPath.get('events[5].event_type') ?? '', /CLICKSTREAM_MAX_ID_LENGTH/);
    assert.match(byPath.get('events[7].meta') ?? '', /CLICKSTREAM_MAX_META_BYTES/);
  });

  it('accepts created_at at both bounds of the window', () => {
    const result = toNewEvents(
      request([makeEvent({ created_at: NOW - 86400 }), makeEvent({ created_at: NOW + 300 })]),
      NOW,
      RULES,
    );
    assert.equal(result.events.length, 2);
    onlyProblem(request([makeEvent({ created_at: NOW + 301 })]), 'events[0].created_at');
  });
});

describe('isSameEvent', () => {
  it('is true for the same content, whatever the key order of meta', () => {
    const stored = newEvent({ meta: { a: 1, b: [1, 2] } });
    assert.ok(isSameEvent(stored, newEvent({ meta: { b: [1, 2], a: 1 } })));
  });

  it('is false when object_id, event_type or meta differ', () => {
    const stored = newEvent({ meta: { a: 1 } });
    assert.equal(isSameEvent(stored, newEvent({ meta: { a: 1 }, object_id: 'o2' })), false);
    assert.equal(isSameEvent(stored, newEvent({ meta: { a: 1 }, event_type: 'view' })), false);
    assert.equal(isSameEvent(stored, newEvent({ meta: { a: 2 } })), false);
    assert.equal(isSameEvent(stored, newEvent({ meta: null })), false);
  });

  it('compares created_at only when both gave one', () => {
    const stored = newEvent({ created_at: NOW - 10 });
    assert.equal(isSameEvent(stored, newEvent({ created_at: NOW - 11 })), false);
    assert.ok(isSameEvent(stored, newEvent({ created_at: NOW, created_at_given: false })));
    assert.ok(isSameEvent({ ...stored, created_at_given: false }, newEvent({ created_at: NOW - 11 })));
  });
});
