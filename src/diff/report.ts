import { formatNumber } from '../reporter/format.js';
import type { CardChange } from './cards.js';
import type { ScoreDiff } from './scores.js';

/** A diff as a person reads it: which two packages, what the cards change, and what the table shows. */
export interface DiffReport {
  old: { label: string; version?: string };
  new: { label: string; version?: string };
  card: CardChange[];
  /** The table both were scored on, and how many rows it has. */
  table?: { source: string; rows: number };
  scores?: ScoreDiff;
  /** Why the scores were not compared. */
  notCompared?: string;
}

const pct = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '-' : `${(x * 100).toFixed(1)}%`);
const num = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '-' : formatNumber(x));
const signed = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} pt`;

/** A text table with aligned columns. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd());
}

/** The headline numbers, one [what, value] pair each. */
function headline(s: ScoreDiff): string[][] {
  const rows: string[][] = [];
  if (s.agreement !== undefined) {
    rows.push([`${s.outcomeIs} agreement`, `${pct(s.agreement)} of ${s.compared} rows`]);
    for (const flip of s.flips ?? []) rows.push([`  ${flip.from} -> ${flip.to}`, `${flip.count} (${pct(flip.count / Math.max(1, s.compared))})`]);
    for (const rate of s.rates ?? []) rows.push([`${rate.outcome} rate`, `${pct(rate.old)} -> ${pct(rate.new)} (${signed(rate.new - rate.old)})`]);
  }
  if (s.psi) rows.push([`PSI of the ${s.outcomeIs === 'label' ? 'label' : 'score'} (old deciles)`, `${s.psi.value.toFixed(3)}: ${s.psi.reading} (< 0.1 stable, 0.1-0.25 watch, > 0.25 shifted)`]);
  rows.push([`|change| in ${s.scoreIs}`, `mean ${num(s.change.mean)}, p99 ${num(s.change.p99)}, max ${num(s.change.max)}`]);
  rows.push(['same first reason', pct(s.firstReasonSame)]);
  if (s.refused.old || s.refused.new) rows.push(['rows refused', `old ${s.refused.old}, new ${s.refused.new} (left out)`]);
  return rows;
}

function shapRows(s: ScoreDiff): string[][] {
  const ranked = [...s.meanAbsShap].sort((a, b) => (b.new ?? b.old ?? 0) - (a.new ?? a.old ?? 0));
  return ranked.map((f) => [f.feature, num(f.old), num(f.new)]);
}

function largestRows(s: ScoreDiff): string[][] {
  return s.largest.map((r) => [String(r.row), s.outcomeIs === 'label' ? '' : num(r.old), s.outcomeIs === 'label' ? num(r.new) : num(r.new), `${r.oldOutcome ?? ''}${r.oldOutcome !== undefined ? ' -> ' : ''}${r.newOutcome ?? ''}`, `${r.oldReason ?? '-'} -> ${r.newReason ?? '-'}`]);
}

const shapHeader = (s: ScoreDiff): string =>
  s.shapIs.old === s.shapIs.new ? `mean |SHAP| per feature (${s.shapIs.new})` : `mean |SHAP| per feature (old: ${s.shapIs.old}; new: ${s.shapIs.new})`;

/** The diff for a terminal. */
export function diffText(report: DiffReport): string {
  const lines = [`pipe diff: ${report.old.label} -> ${report.new.label}`, ''];
  if (report.card.length === 0) lines.push('model card: no changes');
  else {
    lines.push('model card:');
    lines.push(...table([['', 'old', 'new'], ...report.card.map((c) => [`${c.section}: ${c.what}`, c.old, c.new])]).map((l) => `  ${l}`));
  }
  lines.push('');
  if (report.notCompared) lines.push(`scores: not compared: ${report.notCompared}`);
  const s = report.scores;
  if (s && report.table) {
    lines.push(`on ${report.table.source} (${report.table.rows} rows):`);
    lines.push(...table(headline(s)).map((l) => `  ${l}`));
    for (const note of s.notes) lines.push(`  note: ${note}`);
    lines.push('', `${shapHeader(s)}:`, ...table([['feature', 'old', 'new'], ...shapRows(s)]).map((l) => `  ${l}`));
    if (s.largest.length) {
      lines.push('', 'largest changes:', ...table([['row', 'old', 'new', s.outcomeIs ?? '', 'first reason'], ...largestRows(s)]).map((l) => `  ${l}`));
    }
  }
  return lines.join('\n');
}

const cell = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '\\|');

function markdownTable(rows: string[][]): string[] {
  return [`| ${rows[0]!.map(cell).join(' | ')} |`, `| ${rows[0]!.map(() => '---').join(' | ')} |`, ...rows.slice(1).map((r) => `| ${r.map(cell).join(' | ')} |`)];
}

/** The diff as a section of the GitHub step summary. */
export function diffMarkdown(report: DiffReport): string {
  const lines = [`#### Model diff: ${cell(report.old.label)} → ${cell(report.new.label)}`, ''];
  if (report.card.length) lines.push(...markdownTable([['model card', 'old', 'new'], ...report.card.map((c) => [`${c.section}: ${c.what}`, c.old, c.new])]), '');
  else lines.push('Model card: no changes.', '');
  if (report.notCompared) lines.push(`Scores not compared: ${cell(report.notCompared)}`, '');
  const s = report.scores;
  if (s && report.table) {
    lines.push(`On ${cell(report.table.source)} (${report.table.rows} rows):`, '', ...markdownTable([['measure', 'value'], ...headline(s).map(([a, b]) => [a!.trim(), b!])]), '');
    for (const note of s.notes) lines.push(`Note: ${cell(note)}`, '');
    lines.push(...markdownTable([[shapHeader(s), 'old', 'new'], ...shapRows(s)]), '');
  }
  return lines.join('\n');
}
