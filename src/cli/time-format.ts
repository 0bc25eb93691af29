/** UTC seconds as an ISO time without milliseconds: `2026-11-24T10:15:00Z`. */
export function isoSeconds(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}
