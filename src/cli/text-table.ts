/** A table for people: columns as wide as their widest cell, two spaces apart, no trailing spaces. */
export function textTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align: 'left' | 'right',
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const pad = (cell: string, i: number): string =>
    align === 'left' ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0);
  return [header, ...rows].map((row) => `${row.map(pad).join('  ').trimEnd()}\n`).join('');
}
