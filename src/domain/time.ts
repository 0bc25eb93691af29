/** Server time as integer UTC seconds: the unit of every timestamp in the API and the store. */
export type Clock = () => number;

export const systemClock: Clock = () => Math.floor(Date.now() / 1000);

export interface TimeWindow {
  readonly pastSeconds: number;
  readonly futureSeconds: number;
}

// Plausible seconds for a clickstream: 2001-09-09 .. 2286-11-20. A value that is such a time in milliseconds
// or microseconds was almost certainly sent in the wrong unit.
const PLAUSIBLE_SECONDS = { min: 1_000_000_000, max: 9_999_999_999 };

/**
 * Why a client timestamp is not accepted, or null when it is. Values that look like milliseconds (or
 * microseconds) are named as such, since that is the usual mistake.
 */
export function timestampProblem(value: number, now: number, window: TimeWindow): string | null {
  const earliest = now - window.pastSeconds;
  const latest = now + window.futureSeconds;
  if (value >= earliest && value <= latest) return null;
  for (const [unit, factor] of [
    ['milliseconds', 1000],
    ['microseconds', 1_000_000],
  ] as const) {
    const seconds = Math.floor(value / factor);
    if (seconds >= PLAUSIBLE_SECONDS.min && seconds <= PLAUSIBLE_SECONDS.max) {
      return `${value} looks like ${unit}; send integer UTC seconds (${seconds})`;
    }
  }
  const side = value < earliest ? 'older than' : 'later than';
  return (
    `${value} is ${side} the accepted window of UTC seconds [${earliest}, ${latest}] (server time ${now}; ` +
    `CLICKSTREAM_TIME_WINDOW_PAST_SECONDS=${window.pastSeconds}, CLICKSTREAM_TIME_WINDOW_FUTURE_SECONDS=${window.futureSeconds})`
  );
}
