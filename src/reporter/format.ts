/** Small formatting helpers shared by the renderers. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Math.round((ms % 60_000) / 1000)}s`;
}

/**
 * A number as pipe's reasons and pages write it: four significant digits below 1000 (0.1542), whole from
 * 1000 on (4062, a year 1966), with thousands separators from 10,000 on (39,321).
 */
export function formatNumber(x: number, significant = 4): string {
  if (!Number.isFinite(x)) return String(x);
  const size = Math.abs(x);
  if (size >= 1000) return (Math.round(size) >= 10_000 ? GROUPED : WHOLE).format(x);
  return new Intl.NumberFormat('en-US', { maximumSignificantDigits: significant, useGrouping: false }).format(x);
}
const WHOLE = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0, useGrouping: false });
const GROUPED = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/**
 * Two numbers that differ, each written by formatNumber, with as many more digits as it takes for them to
 * read differently (an r2 of 0.88875 against 0.88873: "0.88875" and "0.88873", not "0.8887" twice).
 */
export function formatPair(a: number, b: number): [string, string] {
  // Whole numbers take no more digits: past 1000, two that read the same are written in full.
  const most = Math.abs(a) >= 1000 && Math.abs(b) >= 1000 ? 4 : 17;
  for (let digits = 4; digits <= most; digits++) {
    const pair: [string, string] = [formatNumber(a, digits), formatNumber(b, digits)];
    if (pair[0] !== pair[1] || a === b) return pair;
  }
  return [String(a), String(b)];
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatProgress(p: { label: string; current: number; total?: number; unit: 'bytes' | 'items'; rate?: number; etaMs?: number }): string {
  const fmt = (n: number) => (p.unit === 'bytes' ? formatBytes(n) : String(n));
  const extra = [
    ...(p.rate === undefined ? [] : [`${p.unit === 'bytes' ? formatBytes(Math.round(p.rate)) : Math.round(p.rate)}/s`]),
    ...(p.etaMs === undefined ? [] : [`${formatDuration(p.etaMs)} left`]),
  ];
  const tail = extra.length ? `, ${extra.join(', ')}` : '';
  if (p.total === undefined || p.total <= 0) return `${p.label}: ${fmt(p.current)}${tail}`;
  const pct = Math.min(100, Math.floor((p.current / p.total) * 100));
  return `${p.label}: ${fmt(p.current)} / ${fmt(p.total)} (${pct}%${tail})`;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
