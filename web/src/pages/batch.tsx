import { useMemo, useState } from 'preact/hooks';
import type uPlot from 'uplot';
import { ApiError, getJson, INTERNAL } from '../api';
import { QUERY_KINDS, type Batch, type BatchStats, type BiasReport, type PositionFigures } from '../api-types';
import { Failure, Figure, Figures, Loading, Note, Section, Status } from '../components/bits';
import { Chart, hourlyOptions, positionOptions } from '../components/chart';
import { HourlyTable, hourlyData } from '../components/hourly';
import { QueryTable } from '../components/query-table';
import { count, decimal, percent, time } from '../format';
import { useApi } from '../use-api';
import { Downloads } from './downloads';
import { BatchSessions } from './batch-sessions';

/** Chart data: CTR by position, and PBM's propensity at the positions it estimated (null elsewhere). */
export function positionData(positions: readonly PositionFigures[], bias: BiasReport | undefined): uPlot.AlignedData {
  const propensity = new Map(bias?.propensities.map((p) => [p.position, p.propensity]));
  const xs = positions.map((p) => p.position);
  const ctr = positions.map((p) => p.click_through_rate);
  return bias ? [xs, ctr, xs.map((x) => propensity.get(x) ?? null)] : [xs, ctr];
}

function PositionTable({ positions, bias }: { positions: readonly PositionFigures[]; bias: BiasReport | undefined }) {
  const propensity = new Map(bias?.propensities.map((p) => [p.position, p.propensity]));
  return (
    <table data-testid="positions-table">
      <caption class="visually-hidden">Click-through rate and propensity by position</caption>
      <thead>
        <tr>
          <th class="num">position</th>
          <th class="num">shown</th>
          <th class="num">clicks</th>
          <th class="num">CTR</th>
          <th class="num">propensity (PBM)</th>
        </tr>
      </thead>
      <tbody>
        {positions.map((p) => (
          <tr key={p.position} data-testid="position-row" data-position={p.position}>
            <td class="num">{p.position}</td>
            <td class="num" data-testid="position-shown">
              {count(p.shown)}
            </td>
            <td class="num" data-testid="position-clicks">
              {count(p.clicks)}
            </td>
            <td class="num" data-testid="position-ctr">
              {percent(p.click_through_rate)}
            </td>
            <td class="num" data-testid="position-propensity">
              {decimal(propensity.get(p.position), 3)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function BiasNote({
  batch,
  error,
  bias,
  loading,
}: {
  batch: Batch;
  error: unknown;
  bias: BiasReport | undefined;
  loading: boolean;
}) {
  if (batch.status === 'collecting') {
    return (
      <Note>
        <span data-testid="bias-note">
          The propensity curve is estimated from released batches only: release this batch to see it.
        </span>
      </Note>
    );
  }
  if (error) {
    return error instanceof ApiError && error.code === 'batch_not_released' ? (
      <Note>
        <span data-testid="bias-note">This batch is not released: it has no propensity curve.</span>
      </Note>
    ) : (
      <Failure error={error} />
    );
  }
  if (loading && !bias) return <Note>Estimating the propensity curve from the batch's sessions…</Note>;
  if (!bias || bias.warnings.length === 0) return null;
  return (
    <ul class="warnings" data-testid="bias-warnings">
      {bias.warnings.map((w) => (
        <li key={w.code}>
          <strong>{w.code}</strong>: {w.message}
        </li>
      ))}
    </ul>
  );
}

function StatsFigures({ stats }: { stats: BatchStats }) {
  return (
    <Figures>
      <Figure id="sessions" label="sessions" value={count(stats.sessions)} />
      <Figure id="irrelevant_sessions" label="irrelevant sessions" value={count(stats.irrelevant_sessions)} />
      <Figure id="searches" label="searches" value={count(stats.searches)} />
      <Figure id="clicked_searches" label="searches with a click" value={count(stats.clicked_searches)} />
      <Figure id="click_through_rate" label="click-through rate" value={percent(stats.click_through_rate)} />
      <Figure id="no_click_rate" label="no-click rate" value={percent(stats.no_click_rate)} />
      <Figure id="zero_result_searches" label="zero-result searches" value={count(stats.zero_result_searches)} />
      <Figure id="zero_result_rate" label="zero-result rate" value={percent(stats.zero_result_rate)} />
      <Figure id="clicks" label="clicks" value={count(stats.clicks)} />
      <Figure
        id="average_first_click_position"
        label="average first-click position"
        value={decimal(stats.average_first_click_position)}
        hint="0 = the top result"
      />
      <Figure
        id="searches_without_query_text"
        label="searches without query text"
        value={count(stats.searches_without_query_text)}
        hint={stats.query_field === null ? 'structured, no query field set' : `no text at ${stats.query_field}`}
      />
    </Figures>
  );
}

export function BatchPage({ batchId }: { batchId: string }) {
  const batch = useApi(() => getJson<Batch>(`${INTERNAL}/batch`, { batch_id: batchId }), [batchId]);
  const stats = useApi(() => getJson<BatchStats>(`${INTERNAL}/stats/batch`, { batch_id: batchId }), [batchId]);
  const released = batch.data !== undefined && batch.data.status !== 'collecting';
  const bias = useApi(
    () =>
      released ? getJson<BiasReport>(`${INTERNAL}/batch/bias`, { batch_id: batchId }) : Promise.resolve(undefined),
    [batchId, released],
  );
  const [hourly] = useState(hourlyOptions);
  const withPropensity = bias.data !== undefined;
  const positionChart = useMemo(() => positionOptions(withPropensity), [withPropensity]);
  const positions = useMemo(
    () => (stats.data ? positionData(stats.data.positions, bias.data) : undefined),
    [stats.data, bias.data],
  );
  const hours = useMemo(() => {
    const list = stats.data?.searches_per_hour ?? [];
    const first = list[0];
    const last = list[list.length - 1];
    return first && last ? hourlyData(list, first.hour, last.hour + 3600) : undefined;
  }, [stats.data]);
  const refresh = () => {
    batch.reload();
    stats.reload();
    bias.reload();
  };

  return (
    <div class="page" data-testid="page-batch">
      <Section
        title={`Batch ${batchId}`}
        actions={
          <button type="button" onClick={refresh}>
            Refresh
          </button>
        }
      >
        {batch.error ? <Failure error={batch.error} testId="batch-error" /> : null}
        {batch.data ? (
          <dl class="facts" data-testid="batch-facts">
            <dt>status</dt>
            <dd data-testid="batch-status">
              <Status status={batch.data.status} />
            </dd>
            <dt>sessions</dt>
            <dd>{count(batch.data.session_count)}</dd>
            <dt>created</dt>
            <dd>{time(batch.data.created_at)}</dd>
            <dt>released</dt>
            <dd>{time(batch.data.released_at)}</dd>
            <dt>sealed</dt>
            <dd>{time(batch.data.sealed_at)}</dd>
            <dt>release id</dt>
            <dd class="mono">{batch.data.release_id ?? '—'}</dd>
          </dl>
        ) : null}
        {stats.error ? <Failure error={stats.error} testId="stats-error" /> : null}
        {stats.data ? (
          <>
            <StatsFigures stats={stats.data} />
            <p class="muted small">
              Figures computed at <span data-testid="figure-computed_at">{time(stats.data.computed_at)}</span>.
            </p>
          </>
        ) : stats.loading ? (
          <Loading />
        ) : null}
      </Section>

      {stats.data && positions ? (
        <Section title="Click-through rate by position, and the estimated examination propensity">
          {batch.data ? (
            <BiasNote batch={batch.data} error={bias.error} bias={bias.data} loading={bias.loading} />
          ) : null}
          <div class="columns">
            <Chart
              testId="ctr-chart"
              label="Click-through rate by position (bars) and PBM propensity (line)"
              options={positionChart}
              data={positions}
              height={260}
            />
            <PositionTable positions={stats.data.positions} bias={bias.data} />
          </div>
          <p class="muted small">
            Bars: clicks over times shown at each position (raw). Line: the chance a result there is examined, relative
            to position 0, from a position-based click model fitted by EM: the bias to remove, unlike the raw rate which
            mixes it with relevance.
          </p>
        </Section>
      ) : null}

      {stats.data ? (
        <div class="columns">
          <Section title="Searches and clicks per hour">
            {hours ? (
              <>
                <Chart testId="batch-hourly-chart" label="Searches and clicks per hour" options={hourly} data={hours} />
                <HourlyTable hours={stats.data.searches_per_hour} testId="batch-hourly-table" />
              </>
            ) : (
              <p class="muted">No search yet.</p>
            )}
          </Section>
          <Section title="Events by type">
            <table data-testid="events-by-type">
              <thead>
                <tr>
                  <th>event type</th>
                  <th class="num">events</th>
                </tr>
              </thead>
              <tbody>
                {stats.data.events_by_type.map((e) => (
                  <tr key={e.event_type} data-event-type={e.event_type}>
                    <td>{e.event_type}</td>
                    <td class="num">{count(e.count)}</td>
                  </tr>
                ))}
                {stats.data.events_by_type.length === 0 ? (
                  <tr>
                    <td colSpan={2} class="muted">
                      none
                    </td>
                  </tr>
                ) : null}
              </tbody>
            </table>
          </Section>
        </div>
      ) : null}

      <Section title="Queries">
        {stats.data ? (
          <Figures>
            <Figure id="query_totals-top" label="distinct queries" value={count(stats.data.query_totals.top)} />
            <Figure
              id="query_totals-no_click"
              label="queries never clicked"
              value={count(stats.data.query_totals.no_click)}
            />
            <Figure
              id="query_totals-no_result"
              label="queries with no result"
              value={count(stats.data.query_totals.no_result)}
            />
          </Figures>
        ) : null}
        <div class="query-tables">
          {QUERY_KINDS.map((kind) => (
            <QueryTable key={kind} batchId={batchId} kind={kind} />
          ))}
        </div>
      </Section>

      {batch.data ? <Downloads batch={batch.data} /> : null}
      <BatchSessions batchId={batchId} />
    </div>
  );
}
