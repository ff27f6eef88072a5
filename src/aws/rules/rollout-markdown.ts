import type { RolloutReport } from '../stages/rollout.js';

/** A share as a percentage with up to two decimals: 0.0125 -> "1.25%". */
export const pct = (rate: number): string => `${Math.round(rate * 10_000) / 100}%`;

/** A rollout's steps as Markdown (the GitHub step summary). */
export function rolloutMarkdown(report: RolloutReport): string {
  const lines = [
    `**${report.strategy === 'canary' ? 'Canary' : 'Linear'} rollout** of version ${report.to} (from version ${report.from})${report.resumedAt === undefined ? '' : `, resumed at ${report.resumedAt}%`}: ${report.outcome}`,
    '',
    '| share of live | requests | errors | throttles | error rate | alarms in ALARM |',
    '| --- | --- | --- | --- | --- | --- |',
    ...report.steps.map((s) => `| ${s.percent}% | ${s.requests} | ${s.errors} | ${s.throttles} | ${pct(s.errorRate)} | ${s.alarms.join(', ') || 'none'} |`),
  ];
  return lines.join('\n');
}
