import { formatNumber } from '../reporter/format.js';

/** The card's `fairness` section (python/fairness.py writes it), as the model task and the CI summary read it. */
export interface FairnessRow {
  group: string;
  rows: number;
  /** Fewer than `min_rows`: reported, neither flagged nor gated. */
  small: boolean;
  approval_rate?: number;
  air?: number | null;
  smd?: number | null;
  observed_positive_rate?: number;
  predicted_positive_rate?: number;
  flagged?: boolean;
  mean_prediction?: number;
  predicted_rates?: Record<string, number>;
}

export interface FairnessReport {
  split: string;
  rows: number;
  min_rows: number;
  favourable?: string;
  threshold?: number;
  score?: string;
  positive_class?: string | number | boolean;
  four_fifths?: number;
  min_air?: number;
  groups: Record<string, { values: FairnessRow[]; control?: string | null; control_chosen?: string }>;
  flagged?: string[];
}

const percent = (x: number | undefined) => (x === undefined ? '' : `${(x * 100).toFixed(1)}%`);
const signed = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : `${x >= 0 ? '+' : ''}${x.toFixed(3)}`);

/** The report as Markdown tables, one per group column, saying what every number is of. */
export function fairnessMarkdown(report: FairnessReport): string {
  const binary = report.favourable !== undefined;
  const lines = [
    binary
      ? `**Fairness** on ${report.rows} validation rows: approval is the decision "${report.favourable}" (cutoff ${report.threshold} on the ${report.score}); ` +
        `AIR is a group's approval rate over its control group's, flagged below ${report.four_fifths}${report.min_air === undefined ? '' : `, gated at ${report.min_air}`}; ` +
        `SMD is the difference of mean score in standard deviations of the score. Groups under ${report.min_rows} rows are not flagged.`
      : `**Fairness** on ${report.rows} validation rows. Groups under ${report.min_rows} rows are not compared.`,
  ];
  for (const [name, section] of Object.entries(report.groups)) {
    lines.push('', `${name}${section.control ? ` (control: ${section.control}, ${section.control_chosen})` : ''}`, '');
    if (binary) {
      const positive = String(report.positive_class);
      lines.push(`| group | rows | approval rate | AIR | SMD | observed rate of ${positive} | predicted rate of ${positive} | |`, '| --- | --- | --- | --- | --- | --- | --- | --- |');
      for (const r of section.values) {
        const note = r.flagged ? 'flagged' : r.small ? `under ${report.min_rows} rows` : '';
        lines.push(`| ${r.group} | ${r.rows} | ${percent(r.approval_rate)} | ${r.air === null || r.air === undefined ? 'n/a' : r.air.toFixed(3)} | ${signed(r.smd)} | ${percent(r.observed_positive_rate)} | ${percent(r.predicted_positive_rate)} | ${note} |`);
      }
    } else if (section.values.some((r) => r.mean_prediction !== undefined)) {
      lines.push('| group | rows | mean prediction | SMD |', '| --- | --- | --- | --- |');
      for (const r of section.values) lines.push(`| ${r.group} | ${r.rows} | ${r.mean_prediction === undefined ? '' : formatNumber(r.mean_prediction)} | ${signed(r.smd)} |`);
    } else {
      lines.push('| group | rows | predicted share per label |', '| --- | --- | --- |');
      for (const r of section.values) lines.push(`| ${r.group} | ${r.rows} | ${Object.entries(r.predicted_rates ?? {}).map(([k, v]) => `${k} ${percent(v)}`).join(', ')} |`);
    }
  }
  return lines.join('\n');
}
