import { EXIT } from '../errors.js';
import { formatBytes, formatDuration } from './format.js';
import type { RunReport, TaskReport } from './reporter.js';

/** A table cell: one line, no column breaks, no HTML. */
const cell = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');

function outcomeWord(task: TaskReport): string {
  switch (task.outcome) {
    case 'succeeded':
      return '✅ ran';
    case 'skipped':
      return task.wouldRun ? '▶️ would run' : '⏭️ skipped';
    case 'failed':
      return '❌ failed';
    case 'cancelled':
      return '⏹️ not run';
    default: {
      const never: never = task.outcome;
      throw new Error(`unknown outcome ${String(never)}`);
    }
  }
}

function runWord(report: RunReport): string {
  if (report.ok) return 'succeeded';
  if (report.exitCode === EXIT.interrupted) return 'interrupted';
  if (report.exitCode === EXIT.usage) return 'stopped: usage or configuration error';
  return 'failed';
}

/**
 * The run as Markdown for `$GITHUB_STEP_SUMMARY`: what ran, was skipped or failed and why, times, the
 * deployed URL, the bytes uploaded, and the error with its hint.
 */
export function stepSummaryMarkdown(report: RunReport, title: string): string {
  const lines = [`### ${cell(title)}: ${runWord(report)} in ${formatDuration(report.durationMs)}`, ''];
  if (report.tasks.length) {
    lines.push('| task | outcome | time | details |', '| --- | --- | --- | --- |');
    for (const task of report.tasks) {
      const time = task.outcome === 'succeeded' || task.outcome === 'failed' ? formatDuration(task.durationMs) : '';
      const details = task.outcome === 'failed' ? task.error?.message ?? '' : task.summary ?? task.reason;
      lines.push(`| ${cell(task.name)} | ${outcomeWord(task)} | ${time} | ${cell(details)} |`);
    }
    lines.push('');
  }
  const url = report.tasks.map((t) => t.url).filter(Boolean).pop();
  if (url) lines.push(`**URL:** ${url}`, '');
  const uploads = report.tasks.map((t) => t.bytesUploaded).filter((b): b is number => b !== undefined);
  if (uploads.length) {
    const bytes = uploads.reduce((a, b) => a + b, 0);
    lines.push(`**Uploaded:** ${formatBytes(bytes)} (${bytes.toLocaleString('en-US')} bytes)`, '');
  }
  for (const task of report.tasks) if (task.markdown) lines.push(task.markdown, '');
  if (report.error) {
    const where = report.error.file ? ` in \`${report.error.file}${report.error.line ? `:${report.error.line}` : ''}\`` : '';
    const text = [report.error.message, ...(report.error.stderrTail ?? []).map((l) => `  ${l}`)].join('\n');
    lines.push(`**Error \`${report.error.code}\`**${where}:`, '', '```', text.replace(/```/g, "'''"), '```', '');
    if (report.error.hint) lines.push(`Hint: ${cell(report.error.hint)}`, '');
  }
  return `${lines.join('\n')}\n`;
}
