/**
 * The baseline: sessions, events, a flag and a release written through the API before the fuzzing starts,
 * so that the first requests already meet stored data, and so that the end of the campaign can check that
 * what no acknowledged write touched did not change.
 */
import assert from 'node:assert/strict';
import type { TestApp } from '../support/test-app.js';
import type { Campaign } from './campaign.js';
import { fromJson } from './raw-json.js';
import type { Template } from './request-generators.js';
import type { RouteName } from './routes.js';
import { ADMIN_KEY, BASELINE_SESSIONS, INGEST_KEY, OBJECT_POOL } from './settings.js';

/** Sessions, events, a flag and a release written through the API before the fuzzing starts. */
export async function seedBaseline(campaign: Campaign, t: TestApp): Promise<void> {
  const json = (route: RouteName, body: unknown, key = ADMIN_KEY): Template => ({
    label: 'baseline',
    route,
    method: 'POST',
    path: 'exact',
    query: [],
    auth: { label: 'admin', headers: [['Authorization', `Bearer ${key}`]], queryKey: null },
    contentType: 'application/json',
    headers: [],
    body: { raw: fromJson(body), post: { op: 'none' }, space: '' },
    chunks: null,
    cut: null,
    retry: null,
  });
  const requests: Template[] = [];
  BASELINE_SESSIONS.forEach((sessionId, i) => {
    const objects = OBJECT_POOL.slice(i % 8, (i % 8) + 3);
    requests.push(
      json('register', {
        session_id: sessionId,
        search_query: i % 3 === 0 ? { text: `query ${i}`, filters: [i] } : `baseline query ${i}`,
        search_results: objects.map((objectId, p) => ({ object_id: objectId, rank: p / 2, item_info: { p } })),
        search_meta: { page: i },
        user_id: `user-${i}`,
        ...(i % 2 === 0 ? { created_at: t.clock.now - 60 * i } : {}),
      }),
      json(
        'events',
        {
          session_id: sessionId,
          events: [
            { event_id: 'e-0', object_id: objects[0] ?? 'o-0', event_type: 'click', created_at: t.clock.now - 10 },
            { event_id: 'e-1', object_id: 'unseen-object', meta: { note: 'not among the results' } },
          ],
        },
        INGEST_KEY,
      ),
    );
    if (i === 5) requests.push(json('release', { release_id: 'base-release' }));
  });
  requests.push(json('irrelevant', { session_id: BASELINE_SESSIONS.at(-1) }));
  for (const template of requests) {
    const request = campaign.prepare(template);
    const response = await campaign.send(request);
    assert.equal(response.status, 200, `baseline ${request.target}: ${response.body.toString()}`);
    campaign.model.apply(request, JSON.parse(response.body.toString('utf8')));
  }
  campaign.model.touched.clear();
}
