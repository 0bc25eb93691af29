import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartProps {
  readonly testId: string;
  /** What the chart shows, for screen readers (the numbers are in the table beside it). */
  readonly label: string;
  /** Everything but the size, which follows the chart's box. */
  readonly options: Omit<uPlot.Options, 'width' | 'height'>;
  readonly data: uPlot.AlignedData;
  readonly height?: number;
}

/** Pass memoised `options` and `data`: a new object draws the chart anew. */
export function Chart({ testId, label, options, data, height = 240 }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const width = () => Math.max(element.clientWidth, 240);
    const plot = new uPlot({ ...options, width: width(), height }, data, element);
    // What was drawn, for tests and for anyone who inspects the page: one x value per bar or point.
    element.dataset.points = String(plot.data[0].length);
    const resized = new ResizeObserver(() => {
      if (plot.width !== width()) plot.setSize({ width: width(), height });
    });
    resized.observe(element);
    return () => {
      resized.disconnect();
      plot.destroy();
    };
  }, [options, data, height]);
  return <div class="chart" data-testid={testId} role="img" aria-label={label} ref={box} />;
}

export const COLORS = { blue: '#3b6fb6', green: '#3f9b5a', orange: '#e07b1f', grid: '#e3e6ea' } as const;

const axisStyle = { stroke: '#555', grid: { stroke: COLORS.grid, width: 1 }, ticks: { stroke: COLORS.grid, width: 1 } };

/** Options of an hourly chart of searches and clicks (x: UTC seconds). */
export function hourlyOptions(): Omit<uPlot.Options, 'width' | 'height'> {
  return {
    tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC'),
    scales: {
      // uPlot spans a single time point over 1,000 days; one hour is one point between its neighbours.
      x: {
        time: true,
        range: (u, min, max) => {
          const only = u.data[0].length === 1 ? u.data[0][0] : undefined;
          return only === undefined ? [min, max] : [only - 3600, only + 3600];
        },
      },
      y: { range: (_u, _min, max) => [0, Math.max(1, max)] },
    },
    series: [
      { label: 'hour (UTC)' },
      { label: 'searches', stroke: COLORS.blue, width: 2, points: { show: true, size: 5 } },
      { label: 'clicks', stroke: COLORS.green, width: 2, points: { show: true, size: 5 } },
    ],
    axes: [axisStyle, { ...axisStyle, size: 50 }],
  };
}

/** Options of the click-through rate by position (bars) and the estimated examination propensity (line). */
export function positionOptions(withPropensity: boolean): Omit<uPlot.Options, 'width' | 'height'> {
  const bars = uPlot.paths.bars?.({ size: [0.6, 48] });
  return {
    scales: {
      x: { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] },
      ctr: { range: (_u, _min, max) => [0, Math.max(0.05, max * 1.1)] },
      propensity: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
    },
    series: [
      { label: 'position' },
      {
        label: 'click-through rate',
        scale: 'ctr',
        stroke: COLORS.blue,
        fill: 'rgba(59, 111, 182, 0.55)',
        ...(bars ? { paths: bars } : {}),
        points: { show: false },
        value: (_u, v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)} %`),
      },
      ...(withPropensity
        ? [
            {
              label: 'propensity (PBM)',
              scale: 'propensity',
              stroke: COLORS.orange,
              width: 2,
              points: { show: true, size: 7 },
              value: (_u: uPlot, v: number | null) => (v === null ? '—' : v.toFixed(3)),
            },
          ]
        : []),
    ],
    axes: [
      { ...axisStyle, incrs: [1], values: (_u, splits) => splits.map((s) => String(s)), label: 'position (0 = top)' },
      {
        ...axisStyle,
        scale: 'ctr',
        size: 56,
        values: (_u, splits) => splits.map((s) => `${(s * 100).toFixed(0)} %`),
        label: 'click-through rate',
      },
      ...(withPropensity
        ? [
            {
              ...axisStyle,
              scale: 'propensity',
              // Right: uPlot.Axis.Side is an ambient const enum, which isolated modules cannot read.
              // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
              side: 1 as uPlot.Axis.Side,
              size: 50,
              grid: { show: false },
              label: 'propensity',
            },
          ]
        : []),
    ],
  };
}
