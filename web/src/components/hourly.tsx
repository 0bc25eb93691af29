import type uPlot from 'uplot';
import type { HourFigures } from '../api-types';
import { time } from '../format';

/** Hourly figures as chart data: every hour of the window, the hours without searches at 0. */
export function hourlyData(hours: readonly HourFigures[], from: number, to: number): uPlot.AlignedData {
  const byHour = new Map(hours.map((h) => [h.hour, h]));
  const xs: number[] = [];
  const searches: number[] = [];
  const clicks: number[] = [];
  for (let hour = from - (from % 3600); hour < to; hour += 3600) {
    xs.push(hour);
    searches.push(byHour.get(hour)?.searches ?? 0);
    clicks.push(byHour.get(hour)?.clicks ?? 0);
  }
  return [xs, searches, clicks];
}

export function HourlyTable({ hours, testId }: { hours: readonly HourFigures[]; testId: string }) {
  return (
    <table class="visually-hidden" data-testid={testId}>
      <caption>Searches and clicks per hour</caption>
      <thead>
        <tr>
          <th>hour (UTC)</th>
          <th>searches</th>
          <th>clicks</th>
        </tr>
      </thead>
      <tbody>
        {hours.map((h) => (
          <tr key={h.hour}>
            <td>{time(h.hour)}</td>
            <td>{h.searches}</td>
            <td>{h.clicks}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
