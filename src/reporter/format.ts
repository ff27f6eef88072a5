/** Small formatting helpers shared by the renderers. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Math.round((ms % 60_000) / 1000)}s`;
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
