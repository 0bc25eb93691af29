import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClickstreamError } from '../../src/domain/errors.js';
import { DEFAULT_LIMITS } from '../../src/domain/limits.js';
import {
  isSameSession,
  toNewSession,
  type IngestRules,
  type NewSession,
  type SessionRecord,
} from '../../src/domain/session.js';
import type { RegisterSessionBody } from '../../src/schemas/payloads.js';
import { id, makeSession } from '../support/factories.js';
import { DEFAULT_RULES, onlyFieldError } from '../support/rules.js';

const NOW = 1_703_400_000;
const RULES = DEFAULT_RULES;

/** The one problem of a registration, checked to be at `path`. */
function onlyProblem(body: RegisterSessionBody, path: string, rules: IngestRules = RULES): string {
  return onlyFieldError(() => toNewSession(body, NOW, rules), path);
}

function stored(session: NewSession): SessionRecord {
  return { ...session, batch_id: 'b'.repeat(24), session_number: 1, is_irrelevant: false };
}

describe('toNewSession', () => {
  it('assigns positions by index and keeps the order of the results', () => {
    const body = makeSession();
    const session = toNewSession(body, NOW, RULES);
    assert.deepEqual(
      session.search_results.map((r) => [r.object_id, r.position]),
      body.search_results.map((r, i) => [r.object_id, i]),
    );
    assert.equal(session.session_id, body.session_id);
    assert.equal(session.search_query, body.search_query);
    assert.deepEqual(session.search_meta, body.search_meta);
    assert.equal(session.user_id, body.user_id);
  });

  it('folds item_info into meta and fills absent rank and meta with null', () => {
    const body = makeSession({
      search_results: [
        { object_id: 'a', rank: 0.3, item_info: { title: 'first' } },
        { object_id: 'b', meta: { title: 'second' } },
        { object_id: 'c' },
      ],
    });
    assert.deepEqual(toNewSession(body, NOW, RULES).search_results, [
      { object_id: 'a', position: 0, rank: 0.3, meta: { title: 'first' } },
      { object_id: 'b', position: 1, rank: null, meta: { title: 'second' } },
      { object_id: 'c', position: 2, rank: null, meta: null },
    ]);
  });

  it('accepts an empty result list, an empty query and a structured query', () => {
    assert.deepEqual(toNewSession(makeSession({ search_results: [] }), NOW, RULES).search_results, []);
    assert.equal(toNewSession(makeSession({ search_query: '' }), NOW, RULES).search_query, '');
    const query = { text: 'shoes', filters: [{ size: 42 }] };
    assert.deepEqual(toNewSession(makeSession({ search_query: query }), NOW, RULES).search_query, query);
  });

  it('keeps payload_filter and sort_by, and stores null for absent optional fields', () => {
    const body: RegisterSessionBody = {
      session_id: id('session'),
      search_query: 'q',
      search_results: [],
      payload_filter: { brand: 'x' },
      sort_by: { price: 'asc' },
    };
    const session = toNewSession(body, NOW, RULES);
    assert.deepEqual(session.payload_filter, { brand: 'x' });
    assert.deepEqual(session.sort_by, { price: 'asc' });
    assert.equal(session.search_meta, null);
    assert.equal(session.user_id, null);
  });

  it('defaults created_at to now and marks it as not given', () => {
    const session = toNewSession(makeSession(), NOW, RULES);
    assert.equal(session.created_at, NOW);
    assert.equal(session.created_at_given, false);
  });

  it('keeps a given created_at and marks it as given', () => {
    const session = toNewSession(makeSession({ created_at: NOW - 60 }), NOW, RULES);
    assert.equal(session.created_at, NOW - 60);
    assert.equal(session.created_at_given, true);
  });

  it('rejects a created_at outside the window, saying milliseconds when it looks like them', () => {
    assert.match(onlyProblem(makeSession({ created_at: NOW - 86401 }), 'created_at'), /older than/);
    assert.match(onlyProblem(makeSession({ created_at: NOW * 1000 }), 'created_at'), /looks like milliseconds/);
  });

  it('rejects both meta and item_info on one result', () => {
    const body = makeSession({ search_results: [{ object_id: 'a', meta: { x: 1 }, item_info: { x: 1 } }] });
    assert.match(onlyProblem(body, 'search_results[0].item_info'), /alias of meta/);
  });

  it('rejects duplicate object_ids naming both indexes', () => {
    const body = makeSession({
      search_results: [{ object_id: 'a' }, { object_id: 'b' }, { object_id: 'a' }],
    });
    const message = onlyProblem(body, 'search_results[2].object_id');
    assert.ok(message.includes('search_results[0]'), message);
    assert.match(message, /unique/);
  });

  it('rejects too many results naming CLICKSTREAM_MAX_RESULTS_PER_SESSION', () => {
    const rules: IngestRules = { ...RULES, limits: { ...DEFAULT_LIMITS, maxResultsPerSession: 2 } };
    const body = makeSession();
    assert.equal(body.search_results.length, 3);
    const message = onlyProblem(body, 'search_results', rules);
    assert.ok(message.includes('CLICKSTREAM_MAX_RESULTS_PER_SESSION'), message);
    assert.ok(message.includes('3') && message.includes('2'), message);
    assert.doesNotThrow(() =>
      toNewSession(makeSession({ search_results: body.search_results.slice(0, 2) }), NOW, rules),
    );
  });

  it('accepts the default maximum of 1000 results and rejects 1001', () => {
    const results = Array.from({ length: 1001 }, (_, i) => ({ object_id: `o${i}` }));
    assert.doesNotThrow(() => toNewSession(makeSession({ search_results: results.slice(0, 1000) }), NOW, RULES));
    onlyProblem(makeSession({ search_results: results }), 'search_results');
  });

  it('rejects an id longer than the limit naming CLICKSTREAM_MAX_ID_LENGTH, and accepts one at it', () => {
    const message = onlyProblem(makeSession({ session_id: 'x'.repeat(257) }), 'session_id');
    assert.ok(message.includes('CLICKSTREAM_MAX_ID_LENGTH'), message);
    assert.ok(message.includes('257'), message);
    assert.doesNotThrow(() => toNewSession(makeSession({ session_id: 'x'.repeat(256) }), NOW, RULES));
    onlyProblem(makeSession({ user_id: 'u'.repeat(257) }), 'user_id');
  });

  it('rejects an empty id', () => {
    assert.match(onlyProblem(makeSession({ session_id: '' }), 'session_id'), /empty/);
    onlyProblem(makeSession({ search_results: [{ object_id: '' }] }), 'search_results[0].object_id');
  });

  it('rejects control characters in ids, C0, DEL and C1 alike', () => {
    for (const bad of ['a\u0000b', 'line\nbreak', 'tab\there', 'del\u007f', 'c1\u0085', 'c1\u009f']) {
      const message = onlyProblem(makeSession({ session_id: bad }), 'session_id');
      assert.match(message, /control characters/, JSON.stringify(bad));
    }
    onlyProblem(makeSession({ search_results: [{ object_id: 'a\u001bb' }] }), 'search_results[0].object_id');
  });

  it('accepts non-ASCII ids that are not control characters', () => {
    assert.doesNotThrow(() => toNewSession(makeSession({ session_id: 'séance-日本-😀\u00a0' }), NOW, RULES));
  });

  it('rejects a lone surrogate in an id', () => {
    assert.match(onlyProblem(makeSession({ session_id: 'a\ud800b' }), 'session_id'), /surrogate/);
    assert.match(onlyProblem(makeSession({ user_id: '\udc00' }), 'user_id'), /surrogate/);
  });

  it('rejects a meta over 16 KiB naming CLICKSTREAM_MAX_META_BYTES, under its own name', () => {
    const big = { text: 'x'.repeat(16 * 1024) };
    const message = onlyProblem(
      makeSession({ search_results: [{ object_id: 'a' }, { object_id: 'b', meta: big }] }),
      'search_results[1].meta',
    );
    assert.ok(message.includes('CLICKSTREAM_MAX_META_BYTES'), message);
    assert.ok(message.includes(String(16 * 1024)), message);
    onlyProblem(makeSession({ search_results: [{ object_id: 'a', item_info: big }] }), 'search_results[0].item_info');
  });

  it('accepts a meta of exactly 16 KiB serialized', () => {
    // {"t":"..."} is 8 bytes around the text.
    const meta = { t: 'x'.repeat(16 * 1024 - 8) };
    assert.equal(JSON.stringify(meta).length, 16 * 1024);
    assert.doesNotThrow(() => toNewSession(makeSession({ search_results: [{ object_id: 'a', meta }] }), NOW, RULES));
    onlyProblem(
      makeSession({ search_results: [{ object_id: 'a', meta: { t: `${meta.t}x` } }] }),
      'search_results[0].meta',
    );
  });

  it('counts meta size in UTF-8 bytes, not characters', () => {
    const meta = { t: 'é'.repeat(9000) }; // 9000 characters, 18000 bytes
    onlyProblem(makeSession({ search_results: [{ object_id: 'a', meta }] }), 'search_results[0].meta');
  });

  it('rejects search_meta, payload_filter, sort_by and a structured query over 64 KiB, each named', () => {
    const big = { text: 'x'.repeat(64 * 1024) };
    const message = onlyProblem(makeSession({ search_meta: big }), 'search_meta');
    assert.ok(message.includes('CLICKSTREAM_MAX_SEARCH_META_BYTES'), message);
    onlyProblem(makeSession({ payload_filter: big }), 'payload_filter');
    onlyProblem(makeSession({ sort_by: big }), 'sort_by');
    onlyProblem(makeSession({ search_query: big }), 'search_query');
    onlyProblem(makeSession({ search_query: 'q'.repeat(64 * 1024) }), 'search_query');
    assert.doesNotThrow(() => toNewSession(makeSession({ search_meta: { text: 'x'.repeat(32 * 1024) } }), NOW, RULES));
  });

  it('rejects a non-finite rank', () => {
    for (const rank of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const message = onlyProblem(
        makeSession({ search_results: [{ object_id: 'a', rank }] }),
        'search_results[0].rank',
      );
      assert.match(message, /finite/);
    }
    assert.doesNotThrow(() =>
      toNewSession(makeSession({ search_results: [{ object_id: 'a', rank: -1.5e300 }] }), NOW, RULES),
    );
  });

  it('lists every problem of one request together, each under its path', () => {
    const body: RegisterSessionBody = {
      session_id: '',
      search_query: 'q',
      search_results: [
        { object_id: 'a' },
        { object_id: 'b', rank: Number.NaN },
        { object_id: 'a\u0000' },
        { object_id: 'b' },
        { object_id: 'c', meta: {}, item_info: {} },
      ],
      search_meta: { text: 'x'.repeat(64 * 1024) },
      user_id: 'u'.repeat(300),
      created_at: NOW + 3600,
    };
    let thrown: unknown;
    try {
      toNewSession(body, NOW, RULES);
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown instanceof ClickstreamError);
    assert.equal(thrown.code, 'validation_failed');
    assert.deepEqual(thrown.errors.map((p) => p.path).sort(), [
      'created_at',
      'search_meta',
      'search_results[1].rank',
      'search_results[2].object_id',
      'search_results[3].object_id',
      'search_results[4].item_info',
      'session_id',
      'user_id',
    ]);
    assert.match(thrown.message, /8 problems/);
  });

  it('summarises a single problem with its path', () => {
    try {
      toNewSession(makeSession({ session_id: '' }), NOW, RULES);
      assert.fail('accepted');
    } catch (error) {
      assert.ok(error instanceof ClickstreamError);
      assert.equal(error.message, 'session_id: must not be empty');
    }
  });
});

describe('isSameSession', () => {
  it('is true for the same content', () => {
    const body = makeSession({ created_at: NOW - 10 });
    assert.ok(isSameSession(stored(toNewSession(body, NOW, RULES)), toNewSession(structuredClone(body), NOW, RULES)));
  });

  it('ignores the key order of meta, search_meta and structured queries', () => {
    const first = makeSession({
      search_query: { text: 'q', lang: 'en' },
      search_results: [{ object_id: 'a', meta: { x: 1, y: { p: 1, q: 2 } } }],
      search_meta: { page: 1, device: 'mobile' },
    });
    const second: RegisterSessionBody = {
      ...first,
      search_query: { lang: 'en', text: 'q' },
      search_results: [{ object_id: 'a', meta: { y: { q: 2, p: 1 }, x: 1 } }],
      search_meta: { device: 'mobile', page: 1 },
    };
    assert.ok(isSameSession(stored(toNewSession(first, NOW, RULES)), toNewSession(second, NOW, RULES)));
  });

  it('treats meta and its alias item_info as the same', () => {
    const first = makeSession({ search_results: [{ object_id: 'a', item_info: { x: 1 } }] });
    const second = { ...first, search_results: [{ object_id: 'a', meta: { x: 1 } }] };
    assert.ok(isSameSession(stored(toNewSession(first, NOW, RULES)), toNewSession(second, NOW, RULES)));
  });

  it('is false when the results differ in order, ids, rank or meta', () => {
    const first = makeSession({
      search_results: [{ object_id: 'a', rank: 1, meta: { x: 1 } }, { object_id: 'b' }],
    });
    const record = stored(toNewSession(first, NOW, RULES));
    const variants: RegisterSessionBody['search_results'][] = [
      [{ object_id: 'b' }, { object_id: 'a', rank: 1, meta: { x: 1 } }],
      [{ object_id: 'a', rank: 1, meta: { x: 1 } }, { object_id: 'c' }],
      [{ object_id: 'a', rank: 2, meta: { x: 1 } }, { object_id: 'b' }],
      [{ object_id: 'a', meta: { x: 1 } }, { object_id: 'b' }],
      [{ object_id: 'a', rank: 1, meta: { x: 2 } }, { object_id: 'b' }],
      [{ object_id: 'a', rank: 1, meta: { x: 1 } }],
    ];
    for (const search_results of variants) {
      assert.equal(
        isSameSession(record, toNewSession({ ...first, search_results }, NOW, RULES)),
        false,
        JSON.stringify(search_results),
      );
    }
  });

  it('is false when the query, search_meta, user_id, payload_filter or sort_by differ', () => {
    const first = makeSession();
    const record = stored(toNewSession(first, NOW, RULES));
    const variants: RegisterSessionBody[] = [
      { ...first, search_query: 'other' },
      { ...first, search_query: { text: first.search_query } },
      { ...first, search_meta: { page: 2 } },
      { ...first, user_id: 'someone else' },
      { ...first, user_id: undefined },
      { ...first, payload_filter: { a: 1 } },
      { ...first, sort_by: { a: 1 } },
    ];
    for (const body of variants) {
      assert.equal(isSameSession(record, toNewSession(body, NOW, RULES)), false, JSON.stringify(body));
    }
  });

  it('compares created_at only when both registrations gave one', () => {
    const withTime = makeSession({ created_at: NOW - 100 });
    const { created_at: _omitted, ...withoutTime } = withTime;
    const given = stored(toNewSession(withTime, NOW, RULES));
    const defaulted = stored(toNewSession(withoutTime, NOW - 50, RULES));

    assert.ok(isSameSession(given, toNewSession(withoutTime, NOW, RULES)), 'retry without created_at');
    assert.ok(isSameSession(defaulted, toNewSession(withTime, NOW, RULES)), 'first without created_at');
    assert.ok(isSameSession(defaulted, toNewSession(withoutTime, NOW, RULES)), 'neither gave one, times differ');
    assert.ok(isSameSession(given, toNewSession({ ...withTime }, NOW, RULES)), 'same created_at');
    assert.equal(
      isSameSession(given, toNewSession({ ...withTime, created_at: NOW - 99 }, NOW, RULES)),
      false,
      'different created_at',
    );
  });
});
