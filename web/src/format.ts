/** How figures are written on the pages: one place, so that every page writes a number the same way. */

const NONE = '—';

export function count(value: number | null | undefined): string {
  return value === null || value === undefined ? NONE : value.toLocaleString('en-US');
}

/** A share in [0, 1] as a percentage with one decimal. */
export function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? NONE : `${(value * 100).toFixed(1)} %`;
}

export function decimal(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined ? NONE : value.toFixed(digits);
}

/** UTC seconds as an ISO-like UTC date and time, to the second. */
export function time(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return NONE;
  return `${new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A duration in seconds, in its largest sensible unit. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

export function bytes(value: number): string {
  if (value < 1024) return `${value} B`;
  if (value < 1024 * 1024) return `${(value / 1024).toFixed(1)} KiB`;
  return `${(value / 1024 / 1024).toFixed(1)} MiB`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
