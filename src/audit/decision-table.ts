import { formatNumber } from '../reporter/format.js';
import type { DecisionLine } from './decision-line.js';

/** Reasons shown per row of the table (the CSV export has them all). */
const TOP_REASONS = 3;

const COLUMNS = [
  { title: 'TIME', width: 24 },
  { title: 'REQUEST ID', width: 36 },
  { title: 'REC', width: 3 },
  { title: 'MODEL', width: 12 },
  { title: 'DECISION / OUTPUT', width: 24 },
  { title: 'TOP REASONS', width: 0 },
] as const;

const row = (cells: readonly string[]): string =>
  cells.map((cell, i) => (COLUMNS[i]!.width ? cell.padEnd(COLUMNS[i]!.width) : cell)).join('  ').trimEnd();

/** The table's heading. Widths are fixed, so rows can be printed as they arrive (--follow). */
export const decisionTableHeader = (): string => row(COLUMNS.map((c) => c.title));

// Numbers as the reasons write them: a price whole (477,526, +185,515), not cut to 477500 and +186000.
const signed = (n: number): string => `${n >= 0 ? '+' : ''}${formatNumber(n, 3)}`;
const round = (n: number): string => formatNumber(n);

/** "approve (P(bad)=0.41)", "b (0.8)", "12.5": the decision with the output it came from, and of which class. */
export function describeOutcome(d: DecisionLine): string {
  const { output } = d;
  if (output.probability !== undefined) {
    const of = d.positive_class !== undefined ? `P(${String(d.positive_class)})` : 'p';
    return `${d.decision ?? '-'} (${of}=${round(output.probability)})`;
  }
  if (output.probabilities !== undefined) {
    const label = d.decision ?? Object.entries(output.probabilities).sort(([, a], [, b]) => b - a)[0]?.[0] ?? '-';
    const p = output.probabilities[label];
    return p === undefined ? label : `${label} (${round(p)})`;
  }
  return output.prediction !== undefined ? `${d.decision !== null ? `${d.decision} ` : ''}${round(output.prediction)}` : (d.decision ?? '-');
}

export function decisionTableRow(d: DecisionLine): string {
  const reasons = d.reasons.slice(0, TOP_REASONS).map((r) => `${r.feature} ${signed(r.contribution)}`).join(', ');
  return row([d.time, d.request_id ?? '-', String(d.record), d.model_version, describeOutcome(d), reasons || '-']);
}
