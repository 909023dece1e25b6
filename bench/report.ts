/** One table of a suite's output, printed as markdown so it can be pasted into the README. */
export interface Section {
  heading: string;
  columns: string[];
  rows: string[][];
  /** Lines printed under the table. */
  notes?: string[];
}

export function renderSection(section: Section): string {
  const lines = [`#### ${section.heading}`, '', renderTable(section.columns, section.rows)];
  if (section.notes !== undefined && section.notes.length > 0) lines.push('', ...section.notes);
  return lines.join('\n');
}

export function renderTable(columns: string[], rows: string[][]): string {
  const widths = columns.map((column, i) => Math.max(column.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
  return [line(columns), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** 1234567 -> "1,234,567" (rounded to an integer). */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** A per-second rate with three significant digits: 1234567 -> "1.23 M/s". */
export function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toPrecision(3)} M/s`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toPrecision(3)} k/s`;
  return `${perSecond.toPrecision(3)} /s`;
}

/** A ratio such as ours / baseline as "0.87×", with a mark against the target when one is given. */
export function formatRatio(ratio: number, target?: number): string {
  const text = `${ratio.toFixed(2)}×`;
  if (target === undefined) return text;
  return `${text} ${ratio >= target ? '✅' : '❌'} (target ≥ ${target}×)`;
}

export function formatBytes(bytes: number): string {
  const sign = bytes < 0 ? '-' : '';
  const abs = Math.abs(bytes);
  if (abs >= 1024 * 1024) return `${sign}${(abs / (1024 * 1024)).toFixed(1)} MiB`;
  if (abs >= 1024) return `${sign}${(abs / 1024).toFixed(2)} KiB`;
  return `${sign}${Math.round(abs)} B`;
}

export function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)} %`;
}

/** Progress goes to stderr so that stdout holds only the markdown report. */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}
