import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type {
  AddEventsResponse,
  BatchSessionsPage,
  Problem,
  RegisterSessionResponse,
  ReleaseResponse,
} from '../../src/schemas/records.js';
import { scratchDir } from '../support/factories.js';
import { startService, type ServiceProcess } from '../support/service-process.js';

/*
 * The three curl examples of seed/collect_clickstream.md, byte for byte (trailing spaces included). The
 * first two are not valid JSON: the session body misses the closing quote of its session_id (line 2), a
 * comma after "rank": 0.3 and has a trailing comma after created_at; the events body has trailing commas.
 */
const SEED_SESSION_BODY = `{
    "session_id": "c327c30bd3db459093e5f5d254bdd144,
    "search_query": "user search query",    
    "search_results":[
        {
            "object_id": "2f827cbb9fe544cdaca44b2dafd37785",
            "rank": 0.3
            "item_info": {}
        },
        {
            "object_id": "e000f005dc1343ea8ddf234c557832a5"
        },
        {
            "object_id": "96365929fa5b4286b3a04639cbc7c1d5"
        }
    ],
    "search_meta": {},
    "user_id" : "b604bbb1a57a418d925ebc9d615de99a",
    "created_at": 1703376873, 
}`;

const SEED_EVENTS_BODY = `{
    "session_id": "search_session_id",    
    "events": [
        {
            "event_id": "472cc4232af2449a97317d0057c9a2cf",
            "object_id": "2f827cbb9fe544cdaca44b2dafd37785",
            "item_info": {},
            "event_type": "click",
            "created_at": 1703376873
        },
        {
            "event_id": "124b6bc39e9f43e7b5be6b992d94f505",
            "object_id": "2f827cbb9fe544cdaca44b2dafd37785",
            "item_info": {},
            "created_at": 1703376874
        },
        {
            "event_id": "b0f4adcac63b4a35a02a45f06b0b1cb9",
            "object_id": "e000f005dc1343ea8ddf234c557832a5",           
        }  
    ]
}`;

/** The release example is valid JSON; it is sent as written. */
const SEED_RELEASE_BODY = `{
    "release_id": "090bda77a5e048d59a1e310dc20fbd6d"
}`;

const SESSION_ID = 'c327c30bd3db459093e5f5d254bdd144';
const FIRST = '2f827cbb9fe544cdaca44b2dafd37785';
const SECOND = 'e000f005dc1343ea8ddf234c557832a5';
const THIRD = '96365929fa5b4286b3a04639cbc7c1d5';

/** The seed's examples with their JSON repaired and the events sent to the registered session. */
const repairedSession = {
  session_id: SESSION_ID,
  search_query: 'user search query',
  search_results: [{ object_id: FIRST, rank: 0.3, item_info: {} }, { object_id: SECOND }, { object_id: THIRD }],
  search_meta: {},
  user_id: 'b604bbb1a57a418d925ebc9d615de99a',
  created_at: 1703376873,
};

const repairedEvents = {
  session_id: SESSION_ID,
  events: [
    {
      event_id: '472cc4232af2449a97317d0057c9a2cf',
      object_id: FIRST,
      item_info: {},
      event_type: 'click',
      created_at: 1703376873,
    },
    { event_id: '124b6bc39e9f43e7b5be6b992d94f505', object_id: FIRST, item_info: {}, created_at: 1703376874 },
    { event_id: 'b0f4adcac63b4a35a02a45f06b0b1cb9', object_id: SECOND },
  ],
};

const TEN_YEARS = 10 * 365 * 86400;

interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly requestId: string;
  readonly body: unknown;
}

describe('the seed examples against the real service', { timeout: 120_000 }, () => {
  const scratch = scratchDir();
  let service: ServiceProcess | undefined;

  before(async () => {
    // The seed's created_at values are from December 2023, far outside the default 24 h window: accept
    // ten years into the past so that the examples replay as written.
    service = await startService(scratch.dir, { CLICKSTREAM_TIME_WINDOW_PAST_SECONDS: String(TEN_YEARS) });
  });
  after(async () => {
    await service?.kill();
    scratch.cleanup();
  });

  /** One HTTP exchange; every response must carry an x-request-id, whatever its status. */
  async function call(method: 'GET' | 'POST', path: string, body?: string): Promise<Answer> {
    if (!service) throw new Error('the service did not start');
    const response = await fetch(`${service.baseUrl}${path}`, {
      method,
      ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
    });
    const requestId = response.headers.get('x-request-id');
    assert.ok(requestId !== null && requestId !== '', `${method} ${path} answered without an x-request-id header`);
    const text = await response.text();
    return {
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      requestId,
      body: text === '' ? undefined : (JSON.parse(text) as unknown),
    };
  }

  it('replays the repaired examples: register, add events, release, read the batch back', async () => {
    const registered = await call('POST', '/api/v1/clickstream/session', JSON.stringify(repairedSession));
    assert.equal(registered.status, 200, JSON.stringify(registered.body));
    const session = registered.body as RegisterSessionResponse;
    assert.equal(session.session_id, SESSION_ID);
    assert.equal(session.created_at, 1703376873);
    assert.equal(session.session_number, 1);

    const added = await call('POST', '/api/v1/clickstream/session/events', JSON.stringify(repairedEvents));
    assert.equal(added.status, 200, JSON.stringify(added.body));
    const expected: AddEventsResponse = { session_id: SESSION_ID, stored: 3, duplicates: 0 };
    assert.deepEqual(added.body, expected);

    const released = await call('POST', '/api/v1/clickstream/internal/batch/release', SEED_RELEASE_BODY);
    assert.equal(released.status, 200, JSON.stringify(released.body));
    const release = released.body as ReleaseResponse;
    assert.equal(release.release_id, '090bda77a5e048d59a1e310dc20fbd6d');
    assert.equal(release.batch_id, session.batch_id);
    assert.equal(release.session_count, 1);

    const read = await call(
      'GET',
      `/api/v1/clickstream/internal/batch/sessions?batch_id=${encodeURIComponent(release.batch_id)}`,
    );
    assert.equal(read.status, 200, JSON.stringify(read.body));
    const page = read.body as BatchSessionsPage;
    assert.equal(page.batch_id, release.batch_id);
    assert.equal(page.sealed, false, 'the default grace period of 10 minutes has not passed');
    assert.equal(page.last_number, 1);
    assert.equal(page.sessions.length, 1);
    const [stored] = page.sessions;
    assert.ok(stored);
    assert.equal(stored.session_id, SESSION_ID);
    assert.equal(stored.search_query, 'user search query');
    assert.equal(stored.user_id, 'b604bbb1a57a418d925ebc9d615de99a');
    assert.equal(stored.created_at, 1703376873);
    assert.deepEqual(stored.search_meta, {});
    assert.equal(stored.is_irrelevant, false);
    // item_info is stored as meta; positions are the indexes in search_results.
    assert.deepEqual(stored.search_results, [
      { object_id: FIRST, position: 0, rank: 0.3, meta: {} },
      { object_id: SECOND, position: 1, rank: null, meta: null },
      { object_id: THIRD, position: 2, rank: null, meta: null },
    ]);

    assert.equal(stored.events_truncated, false);
    const byId = new Map(stored.events.map((event) => [event.event_id, event]));
    assert.equal(byId.size, 3);
    const [first, second, third] = repairedEvents.events.map((event) => byId.get(event.event_id));
    assert.ok(first && second && third, 'every seed event should be read back');
    assert.deepEqual(first, {
      event_id: '472cc4232af2449a97317d0057c9a2cf',
      object_id: FIRST,
      event_type: 'click',
      created_at: 1703376873,
      position: 0,
      meta: {},
    });
    assert.deepEqual(second, {
      event_id: '124b6bc39e9f43e7b5be6b992d94f505',
      object_id: FIRST,
      event_type: 'click',
      created_at: 1703376874,
      position: 0,
      meta: {},
    });
    assert.equal(third.object_id, SECOND);
    assert.equal(third.position, 1);
    assert.equal(third.event_type, 'click', 'event_type defaults to click');
    assert.equal(third.meta, null);
    assert.equal(typeof third.created_at, 'number', 'created_at defaults to server time');
    assert.ok(third.created_at > 1703376874, 'the server time is after the seed times');
  });

  /** The `line N, column M` a problem detail points at. */
  function location(detail: string): { line: number; column: number } {
    const match = /line (\d+), column (\d+)/.exec(detail);
    assert.ok(match, `the detail should name a line and a column: ${detail}`);
    return { line: Number(match[1]), column: Number(match[2]) };
  }

  function assertInvalidJson(answer: Answer): Problem {
    assert.equal(answer.status, 400, JSON.stringify(answer.body));
    assert.match(answer.contentType, /^application\/problem\+json\b/);
    const problem = answer.body as Problem;
    assert.equal(problem.code, 'invalid_json');
    assert.equal(problem.status, 400);
    assert.equal(problem.request_id, answer.requestId);
    return problem;
  }

  it('answers the seed session body as written with invalid_json at the unterminated session_id (line 2)', async () => {
    const answer = await call('POST', '/api/v1/clickstream/session', SEED_SESSION_BODY);
    const where = location(assertInvalidJson(answer).detail);
    // The string opened on line 2 runs into the end of that line: the first syntax error of the body.
    assert.equal(where.line, 2);
    const line2 = SEED_SESSION_BODY.split('\n')[1] ?? '';
    assert.ok(where.column >= 1 && where.column <= line2.length + 1, `column ${where.column} is outside line 2`);
  });

  it('answers the seed events body as written with invalid_json at its first trailing comma', async () => {
    const answer = await call('POST', '/api/v1/clickstream/session/events', SEED_EVENTS_BODY);
    const where = location(assertInvalidJson(answer).detail);
    // The trailing comma ends line 19; a JSON parser can only tell it is an error when the next token, the
    // `}` on line 20, is not a property name. That `}` is where the error is reported.
    const lines = SEED_EVENTS_BODY.split('\n');
    assert.match(lines[18] ?? '', /"e000f005dc1343ea8ddf234c557832a5",\s*$/);
    assert.equal(where.line, 20);
    assert.equal(where.column, (lines[19] ?? '').indexOf('}') + 1);
  });
});
