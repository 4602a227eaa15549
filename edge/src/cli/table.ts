const GAP = '  ';
const MIN_COLUMN = 4;

/** The width to fit output to: the terminal's, else $COLUMNS, else 100. */
export function terminalWidth(): number {
  return process.stdout.columns || Number(process.env.COLUMNS) || 100;
}

/** Shortens a cell to `width` characters, marking the cut with an ellipsis. */
export function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/**
 * Aligned columns under a header row. When the table is wider than `width`, the widest columns
 * give up characters first (never below a few), so short ids stay whole and long details are cut.
 */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  width = terminalWidth(),
): string {
  const widths = headers.map((h, col) =>
    Math.max(h.length, ...rows.map((row) => (row[col] ?? '').length)),
  );
  const total = () => widths.reduce((sum, w) => sum + w, 0) + GAP.length * (widths.length - 1);
  while (total() > width) {
    const widest = widths.indexOf(Math.max(...widths));
    if (widths[widest] <= MIN_COLUMN) break;
    widths[widest]--;
  }
  const line = (cells: readonly string[]) =>
    widths
      .map((w, col) => truncate(cells[col] ?? '', w).padEnd(w))
      .join(GAP)
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** "4 s", "3 min", "2 h", "5 d": how long ago a moment was, for status lines. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}
