import { useState } from 'preact/hooks';
import { getJson, INTERNAL } from '../api';
import type { QueriesPage, QueryKind } from '../api-types';
import { count, percent } from '../format';
import { useApi } from '../use-api';
import { Failure } from './bits';

export const QUERIES_PER_PAGE = 20;

const TITLES: Record<QueryKind, string> = {
  top: 'Top queries',
  no_click: 'Queries without a click',
  no_result: 'Queries without results',
};

/**
 * One of a batch's query tables, a page of 20 at a time from the stats API: a batch with 10,000 distinct
 * queries costs the page 20 rows.
 */
export function QueryTable({ batchId, kind }: { batchId: string; kind: QueryKind }) {
  const [offset, setOffset] = useState(0);
  const page = useApi(
    () =>
      getJson<QueriesPage>(`${INTERNAL}/stats/queries`, {
        batch_id: batchId,
        kind,
        limit: QUERIES_PER_PAGE,
        offset,
      }),
    [batchId, kind, offset],
  );
  const total = page.data?.total ?? 0;
  const last = Math.min(offset + QUERIES_PER_PAGE, total);
  return (
    <div class="query-table" data-testid={`queries-${kind}`}>
      <h3>{TITLES[kind]}</h3>
      {page.error ? <Failure error={page.error} /> : null}
      <table>
        <thead>
          <tr>
            <th>query</th>
            <th class="num">searches</th>
            <th class="num">with a click</th>
            <th class="num">CTR</th>
            {kind === 'no_result' ? <th class="num">no result</th> : null}
          </tr>
        </thead>
        <tbody>
          {page.data?.queries.map((q) => (
            <tr key={q.query} data-testid="query-row">
              <td class="query">{q.query === '' ? <span class="muted">(empty)</span> : q.query}</td>
              <td class="num">{count(q.searches)}</td>
              <td class="num">{count(q.clicked_searches)}</td>
              <td class="num">{percent(q.click_through_rate)}</td>
              {kind === 'no_result' ? <td class="num">{count(q.zero_result_searches)}</td> : null}
            </tr>
          ))}
          {page.data && page.data.queries.length === 0 ? (
            <tr>
              <td colSpan={5} class="muted">
                none
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      <div class="pager">
        <button
          type="button"
          disabled={offset === 0 || page.loading}
          onClick={() => {
            setOffset(Math.max(0, offset - QUERIES_PER_PAGE));
          }}
        >
          ← previous
        </button>
        <span class="muted" data-testid={`queries-${kind}-range`}>
          {total === 0 ? '0 queries' : `${count(offset + 1)}–${count(last)} of ${count(total)}`}
        </span>
        <button
          type="button"
          disabled={last >= total || page.loading}
          onClick={() => {
            setOffset(offset + QUERIES_PER_PAGE);
          }}
        >
          next →
        </button>
      </div>
    </div>
  );
}
