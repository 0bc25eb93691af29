import { useState } from 'preact/hooks';
import { getJson, INTERNAL } from '../api';
import type { BatchSessionsPage } from '../api-types';
import { Failure, Pager, Section } from '../components/bits';
import { count, time } from '../format';
import { sessionHref } from '../router';
import { useApi } from '../use-api';
import { queryText } from './session';

const SESSIONS_PER_PAGE = 20;

/** The batch's sessions in registration order, 20 at a time (keyset pages), each opening the inspector. */
export function BatchSessions({ batchId }: { batchId: string }) {
  // The after_number of each page shown so far: going back pops one.
  const [trail, setTrail] = useState<number[]>([0]);
  const after = trail[trail.length - 1] ?? 0;
  const page = useApi(
    () =>
      getJson<BatchSessionsPage>(`${INTERNAL}/batch/sessions`, {
        batch_id: batchId,
        after_number: after,
        limit: SESSIONS_PER_PAGE,
        events_limit: 100,
      }),
    [batchId, after],
  );
  const sessions = page.data?.sessions ?? [];
  return (
    <Section title="Sessions">
      {page.error ? <Failure error={page.error} /> : null}
      <table data-testid="batch-sessions">
        <thead>
          <tr>
            <th class="num">#</th>
            <th>session</th>
            <th>query</th>
            <th class="num">results</th>
            <th class="num">events</th>
            <th>created</th>
            <th>flags</th>
          </tr>
        </thead>
        <tbody>
          {sessions.map((s) => (
            <tr key={s.session_id}>
              <td class="num">{s.session_number}</td>
              <td>
                <a href={sessionHref(s.session_id)}>{s.session_id}</a>
              </td>
              <td class="query">{queryText(s.search_query)}</td>
              <td class="num">{count(s.search_results.length)}</td>
              <td class="num">
                {count(s.events.length)}
                {s.events_truncated ? '+' : ''}
              </td>
              <td>{time(s.created_at)}</td>
              <td>{s.is_irrelevant ? <span class="flag flag-irrelevant">irrelevant</span> : null}</td>
            </tr>
          ))}
          {page.data && sessions.length === 0 ? (
            <tr>
              <td colSpan={7} class="muted">
                {after === 0 ? 'No session in this batch.' : 'No more sessions.'}
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <Pager
        back="previous"
        on="next"
        canBack={trail.length > 1 && !page.loading}
        canGoOn={!page.loading && page.data?.last_number !== null && sessions.length >= SESSIONS_PER_PAGE}
        onBack={() => {
          setTrail(trail.slice(0, -1));
        }}
        onGoOn={() => {
          const last = page.data?.last_number;
          if (last !== null && last !== undefined) setTrail([...trail, last]);
        }}
      />
    </Section>
  );
}
