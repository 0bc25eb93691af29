/**
 * The events debugger's record of a request, built without I/O: secret headers and query parameters
 * never kept (and their values cut from every other text), only an allow-list of headers, the body's
 * start cut at a character boundary, the session the request named.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bodyExcerpt,
  debugEventOf,
  isSecretName,
  REDACTED,
  scrubHeaders,
  scrubUrl,
  sessionIdOf,
  type AnsweredRequest,
} from '../../src/http/debug-record.js';

const SECRET = 'sk-live-0123456789abcdef';

function answered(overrides: Partial<AnsweredRequest> = {}): AnsweredRequest {
  return {
    time: 1_700_000_000,
    method: 'POST',
    route: '/api/v1/clickstream/session/events',
    url: '/api/v1/clickstream/session/events',
    status: 400,
    problem: {
      code: 'validation_failed',
      detail: 'events[0].object_id: is required',
      errors: [{ path: 'events[0].object_id', message: 'is required' }],
    },
    headers: { 'content-type': 'application/json', host: 'localhost' },
    query: {},
    body: { session_id: 's-1', events: [{}] },
    bodyText: '{"session_id":"s-1","events":[{}]}',
    requestId: 'req-1',
    durationMs: 1.234,
    ...overrides,
  };
}

describe('events debugger records', () => {
  it('names as secret every header or parameter that holds key, token, secret, auth, passw or cookie', () => {
    for (const name of [
      'authorization',
      'Authorization',
      'x-api-key',
      'X-API-KEY',
      'key',
      'api_key',
      'x-session-token',
      'access_token',
      'x-client-secret',
      'cookie',
      'set-cookie',
      'proxy-authorization',
      'password',
    ]) {
      assert.equal(isSecretName(name), true, name);
    }
    for (const name of ['content-type', 'user-agent', 'origin', 'session_id', 'limit', 'code']) {
      assert.equal(isSecretName(name), false, name);
    }
  });

  it('keeps only the allow-listed headers, and gives the secret values to cut elsewhere', () => {
    const { headers, secrets } = scrubHeaders({
      authorization: `Bearer ${SECRET}`,
      'x-api-key': SECRET,
      cookie: `sid=${SECRET}`,
      'x-upstream-token': SECRET,
      'content-type': 'application/json',
      'user-agent': 'test agent',
      origin: 'https://shop.example',
      'x-forwarded-for': '10.0.0.1',
      host: 'localhost',
      accept: ['application/json', 'text/plain'],
    });
    assert.deepEqual(headers, {
      'content-type': 'application/json',
      'user-agent': 'test agent',
      origin: 'https://shop.example',
      accept: 'application/json, text/plain',
    });
    assert.ok(secrets.includes(SECRET));
    assert.ok(secrets.includes(`Bearer ${SECRET}`));
  });

  it('removes secret query parameters from the URL, however they are spelled, and the fragment', () => {
    assert.deepEqual(scrubUrl(`/a?session_id=s&key=${SECRET}&limit=5`), {
      url: '/a?session_id=s&limit=5',
      secrets: [SECRET, SECRET],
    });
    assert.equal(scrubUrl(`/a?KEY=${SECRET}`).url, '/a');
    assert.equal(scrubUrl(`/a?%6Bey=${SECRET}&x`).url, '/a?x');
    assert.equal(scrubUrl(`/a?access_token=${SECRET}#frag`).url, '/a');
    assert.equal(scrubUrl('/a?key').url, '/a');
    assert.equal(scrubUrl('/a?x=1&y=%ZZ').url, '/a?x=1&y=%ZZ');
    assert.deepEqual(scrubUrl(`/a?key=${encodeURIComponent('a b+c/d')}`).secrets, ['a%20b%2Bc%2Fd', 'a b+c/d']);
  });

  it('cuts a body at most at the cap, at a character boundary, and says whether it did', () => {
    assert.deepEqual(bodyExcerpt(null, 10), { body: null, bytes: null, truncated: false });
    assert.deepEqual(bodyExcerpt('abc', 10), { body: 'abc', bytes: 3, truncated: false });
    assert.deepEqual(bodyExcerpt('abcdef', 4), { body: 'abcd', bytes: 6, truncated: true });
    // é is 2 bytes, 😀 4: no character is split.
    assert.deepEqual(bodyExcerpt('aéé', 4), { body: 'aé', bytes: 5, truncated: true });
    assert.deepEqual(bodyExcerpt('a😀b', 3), { body: 'a', bytes: 6, truncated: true });
    assert.deepEqual(bodyExcerpt('a😀b', 5), { body: 'a😀', bytes: 6, truncated: true });
    assert.deepEqual(bodyExcerpt('abc', 0), { body: null, bytes: 3, truncated: true });
    for (let cap = 0; cap < 12; cap++) {
      const { body } = bodyExcerpt('x€😀é€yz', cap);
      assert.ok(Buffer.byteLength(body ?? '') <= cap, `cap ${cap}`);
      assert.ok(!(body ?? '').includes('\uFFFD'), `cap ${cap}`);
    }
  });

  it('finds the session in the body, the query, or the text of a body that did not parse', () => {
    assert.equal(sessionIdOf({ session_id: 'b' }, { session_id: 'q' }, null), 'b');
    assert.equal(sessionIdOf({ sessions: [] }, { session_id: 'q' }, null), 'q');
    assert.equal(sessionIdOf({ session_id: 7 }, {}, null), null);
    assert.equal(sessionIdOf(undefined, {}, '{"events": [], "session_id" : "s\\"1",'), 's"1');
    assert.equal(sessionIdOf(undefined, { session_id: ['a', 'b'] }, null), null);
    assert.equal(sessionIdOf([{ session_id: 'x' }], {}, '[{"session_id":"x"}]'), null);
  });

  it('records the route, status, code, detail, paths, session, request id, headers and body', () => {
    assert.deepEqual(debugEventOf(answered(), 2048), {
      time: 1_700_000_000,
      method: 'POST',
      route: '/api/v1/clickstream/session/events',
      url: '/api/v1/clickstream/session/events',
      status: 400,
      code: 'validation_failed',
      detail: 'events[0].object_id: is required',
      errors: [{ path: 'events[0].object_id', message: 'is required' }],
      session_id: 's-1',
      request_id: 'req-1',
      headers: { 'content-type': 'application/json' },
      body: '{"session_id":"s-1","events":[{}]}',
      body_bytes: 34,
      body_truncated: false,
      duration_ms: 1.23,
    });
    const accepted = debugEventOf(answered({ status: 200, problem: null, url: '/x?y=1' }), 2048);
    assert.equal(accepted.code, null);
    assert.equal(accepted.detail, null);
    assert.deepEqual(accepted.errors, []);
    const unmatched = debugEventOf(answered({ route: undefined, url: `/api/v1/clickstream/nope?key=${SECRET}` }), 10);
    assert.equal(unmatched.route, '/api/v1/clickstream/nope');
    assert.equal(unmatched.url, '/api/v1/clickstream/nope');
  });

  it('cuts secret values out of every text it keeps, also across the cut of the body', () => {
    const text = `{"session_id": "${SECRET}", "note": "${SECRET}${'y'.repeat(100)}"}`;
    const event = debugEventOf(
      answered({
        url: `/api/v1/clickstream/session/events?key=${SECRET}`,
        headers: { 'x-api-key': SECRET, 'user-agent': `agent ${SECRET}`, 'content-type': 'application/json' },
        problem: { code: 'unauthorized', detail: `no key ${SECRET}`, errors: [{ path: SECRET, message: SECRET }] },
        body: undefined,
        bodyText: text,
      }),
      60,
    );
    const stored = JSON.stringify(event);
    assert.equal(stored.includes(SECRET), false, stored);
    assert.equal(stored.includes(SECRET.slice(0, 8)), false, stored);
    assert.ok(event.body?.includes(REDACTED));
    assert.equal(event.session_id, REDACTED);
    assert.equal(event.body_truncated, true);
    assert.ok(Buffer.byteLength(event.body ?? '') <= 60);
  });

  it('keeps no NUL character and no lone surrogate (PostgreSQL text can hold neither)', () => {
    const event = debugEventOf(answered({ bodyText: 'a\u0000b', body: undefined }), 100);
    assert.equal(event.body, 'a\uFFFDb');
    const named = debugEventOf(answered({ body: { session_id: 's\ud800\u0000' } }), 100);
    assert.equal(named.session_id, 's\uFFFD\uFFFD');
  });
});
