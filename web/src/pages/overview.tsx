import { useMemo } from 'preact/hooks';
import { getJson, INTERNAL } from '../api';
import type { Batch, Timeline } from '../api-types';
import { Failure, Figure, Figures, Loading, Section, Status } from '../components/bits';
import { Chart, hourlyOptions } from '../components/chart';
import { HourlyTable, hourlyData } from '../components/hourly';
import { count, duration, nowSeconds, time } from '../format';
import { batchHref } from '../router';
import { useApi } from '../use-api';

/** The hours the overview shows: the last two days, to the current hour. */
export const OVERVIEW_HOURS = 48;

export function OverviewPage() {
  const span = useMemo(() => {
    const to = nowSeconds();
    const currentHour = to - (to % 3600);
    return { from: currentHour - (OVERVIEW_HOURS - 1) * 3600, to };
  }, []);
  const timeline = useApi(() => getJson<Timeline>(`${INTERNAL}/stats/timeline`, span), [span]);
  const batches = useApi(() => getJson<{ batches: Batch[] }>(`${INTERNAL}/batches`, { limit: 50 }), []);
  const options = useMemo(hourlyOptions, []);
  const data = useMemo(
    () => (timeline.data ? hourlyData(timeline.data.hours, span.from, span.to) : undefined),
    [timeline.data, span],
  );
  const collecting = batches.data?.batches.find((b) => b.status === 'collecting');
  const releases = (batches.data?.batches ?? []).filter((b) => b.released_at !== null).slice(0, 5);
  const totals = (timeline.data?.hours ?? []).reduce(
    (sum, h) => ({ searches: sum.searches + h.searches, clicks: sum.clicks + h.clicks }),
    { searches: 0, clicks: 0 },
  );
  return (
    <div class="page" data-testid="page-overview">
      <Section title={`Searches and clicks per hour, last ${OVERVIEW_HOURS} hours`}>
        {timeline.error ? <Failure error={timeline.error} /> : null}
        {timeline.data && data ? (
          <>
            <Figures>
              <Figure id="timeline-searches" label="searches" value={count(totals.searches)} />
              <Figure id="timeline-clicks" label="clicks" value={count(totals.clicks)} />
            </Figures>
            <Chart testId="timeline-chart" label="Searches and clicks per hour" options={options} data={data} />
            <HourlyTable hours={timeline.data.hours} testId="timeline-table" />
          </>
        ) : timeline.loading ? (
          <Loading />
        ) : null}
      </Section>
      <div class="columns">
        <Section title="Collecting batch">
          {batches.error ? <Failure error={batches.error} /> : null}
          {collecting ? (
            <>
              <Figures>
                <Figure id="collecting-sessions" label="sessions" value={count(collecting.session_count)} />
                <Figure
                  id="collecting-age"
                  label="collecting for"
                  value={duration(nowSeconds() - collecting.created_at)}
                  hint={`since ${time(collecting.created_at)}`}
                />
              </Figures>
              <p>
                <a href={batchHref(collecting.batch_id)} data-testid="collecting-link">
                  {collecting.batch_id}
                </a>
              </p>
            </>
          ) : batches.loading ? (
            <Loading />
          ) : (
            <p class="muted">No batch is collecting yet: the first session starts one.</p>
          )}
        </Section>
        <Section title="Last releases">
          {releases.length === 0 && !batches.loading ? <p class="muted">No batch was released yet.</p> : null}
          {releases.length > 0 ? (
            <table data-testid="releases">
              <thead>
                <tr>
                  <th>batch</th>
                  <th>status</th>
                  <th class="num">sessions</th>
                  <th>released</th>
                </tr>
              </thead>
              <tbody>
                {releases.map((b) => (
                  <tr key={b.batch_id}>
                    <td>
                      <a href={batchHref(b.batch_id)}>{b.batch_id}</a>
                    </td>
                    <td>
                      <Status status={b.status} />
                    </td>
                    <td class="num">{count(b.session_count)}</td>
                    <td>{time(b.released_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </Section>
      </div>
    </div>
  );
}
