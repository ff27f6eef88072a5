import { points, recordsText, share, type ShareChange, type VersionDrift } from './drift.js';

const when = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
const changeText = (c: ShareChange) => `${c.name} ${share(c.now)} (baseline ${share(c.baseline)}, ${points(c.change)})`;
/** The changes worth a line: the largest few, and only those that moved at all. */
const largest = (changes: readonly ShareChange[] | undefined, count: number) => (changes ?? []).filter((c) => Math.abs(c.change) >= 0.0005).slice(0, count);

export function verdictLine(d: VersionDrift): string {
  return `verdict: ${d.verdict}${d.because.length ? `: ${d.because.join('; ')}` : ''}`;
}

/** One model version's drift as terminal lines, every number saying what it is of. */
export function driftLines(d: VersionDrift): string[] {
  const lines = [`model version ${d.modelVersion}: ${recordsText(d.records, d.task)}, ${when(d.period.from)} to ${when(d.period.to)}`];
  const indent = (s: string) => `  ${s}`;
  lines.push(indent(`baseline: ${d.baselineOf}`));
  const multiclass = d.task === 'multiclass';
  if (d.decisionRates?.length) lines.push(indent(`${multiclass ? 'predicted label' : 'decision rate'}: ${d.decisionRates.map(changeText).join('; ')}`));
  if (d.score) {
    const psi = `${d.score.psi.value.toFixed(3)} ${d.score.psi.reading}`;
    const scale = '< 0.1 stable, 0.1-0.25 watch, > 0.25 shifted';
    lines.push(indent(multiclass ? `PSI of the predicted label ${psi} (${d.score.psi.bins} labels; ${scale})` : `score PSI ${psi} (${d.score.is}, in ${d.score.psi.bins} bins of the baseline; ${scale})`));
  }
  if (d.missing) {
    const moved = largest(d.missing, 3);
    lines.push(indent(`missing rate: ${moved.length ? moved.map(changeText).join('; ') : 'as in the baseline for every feature'}`));
  }
  if (d.missingNote) lines.push(indent(`missing rate: ${d.missingNote}`));
  if (d.firstReasons) {
    const moved = largest(d.firstReasons, 3);
    lines.push(indent(`first reason: ${moved.length ? moved.map(changeText).join('; ') : 'as in the baseline'} (PSI ${d.firstReasonPsi!.value.toFixed(3)} ${d.firstReasonPsi!.reading})`));
  }
  if (d.attribution) lines.push(indent(`attribution ranking NDCG ${d.attribution.ndcg.toFixed(3)} ${d.attribution.reading} (mean |contribution| against the baseline's, below 0.9 shifted; ${d.attribution.note})`));
  lines.push(indent(verdictLine(d)));
  return lines;
}

/** The same as Markdown, for the GitHub step summary. */
export function driftMarkdown(drifts: readonly VersionDrift[], source: string): string {
  const out = [`**Monitor** of ${source}`];
  for (const d of drifts) {
    out.push('', `Model version \`${d.modelVersion}\`: ${recordsText(d.records, d.task)}, ${when(d.period.from)} to ${when(d.period.to)}; baseline: ${d.baselineOf}`, '');
    out.push('| measure | now | baseline | reading |', '| --- | --- | --- | --- |');
    const multiclass = d.task === 'multiclass';
    for (const c of d.decisionRates ?? []) out.push(`| ${multiclass ? 'predicted label' : 'decision'} "${c.name}" | ${share(c.now)} | ${share(c.baseline)} | ${points(c.change)} |`);
    if (d.score) out.push(`| ${multiclass ? 'PSI of the predicted label' : `score PSI (${d.score.is}, baseline deciles)`} | ${d.score.psi.value.toFixed(3)} | 0 | ${d.score.psi.reading} |`);
    for (const c of largest(d.missing, 3)) out.push(`| ${c.name} missing | ${share(c.now)} | ${share(c.baseline)} | ${points(c.change)} |`);
    for (const c of largest(d.firstReasons, 3)) out.push(`| first reason ${c.name} | ${share(c.now)} | ${share(c.baseline)} | ${points(c.change)} |`);
    if (d.attribution) out.push(`| attribution ranking NDCG (reasons' contributions) | ${d.attribution.ndcg.toFixed(3)} | 1 | ${d.attribution.reading} |`);
    out.push('', `**${verdictLine(d)}**`);
  }
  return out.join('\n');
}
