import { UsageError } from '../errors.js';

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses `--since`: a duration back from now ("30s", "10m", "1h", "2d", "1h30m") or an ISO date.
 * Returns epoch milliseconds.
 */
export function parseSince(value: string, now = Date.now()): number {
  const text = value.trim();
  if (/^(\d+[smhd])+$/.test(text)) {
    let total = 0;
    for (const [, n, unit] of text.matchAll(/(\d+)([smhd])/g)) total += Number(n) * UNITS[unit!]!;
    return now - total;
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const at = Date.parse(text);
    if (!Number.isNaN(at)) return at;
  }
  throw new UsageError('OPTION_INVALID', `--since "${value}" is neither a duration nor a date`, {
    hint: 'Use a duration such as 30s, 10m, 1h, 2d (or 1h30m), or an ISO date such as 2026-01-31T12:00:00Z.',
  });
}
