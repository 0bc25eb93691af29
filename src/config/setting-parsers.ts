/** The parsers of settings' raw values (settings.ts): each answers the value, or why the text is refused. */

export type Parsed = { ok: true; value: unknown } | { ok: false; message: string };

export const integer =
  (min: number, max: number) =>
  (raw: string): Parsed => {
    if (!/^\d+$/.test(raw.trim())) return { ok: false, message: `must be a whole number, got "${raw}"` };
    const value = Number(raw.trim());
    if (value < min || value > max) return { ok: false, message: `must be between ${min} and ${max}, got ${value}` };
    return { ok: true, value };
  };

/** A switch: 1/true or 0/false; anything else is refused at start rather than read as either. */
export const flag = (raw: string): Parsed => {
  const value = raw.trim().toLowerCase();
  if (value === '1' || value === 'true') return { ok: true, value: true };
  if (value === '0' || value === 'false') return { ok: true, value: false };
  return { ok: false, message: `must be 1, true, 0 or false, got "${raw}"` };
};

/** A fraction from 0 to 1, written as a decimal (0.01) or 0 / 1. */
export const fraction = (raw: string): Parsed => {
  const value = raw.trim();
  if (!/^(0|1|0?\.\d+|1\.0*)$/.test(value)) return { ok: false, message: `must be a number from 0 to 1, got "${raw}"` };
  return { ok: true, value: Number(value) };
};

export const oneOf =
  (allowed: readonly string[]) =>
  (raw: string): Parsed =>
    allowed.includes(raw.trim())
      ? { ok: true, value: raw.trim() }
      : { ok: false, message: `must be one of ${allowed.join(', ')}, got "${raw}"` };

export const text = (raw: string): Parsed =>
  raw.trim() === '' ? { ok: false, message: 'must not be empty' } : { ok: true, value: raw.trim() };
