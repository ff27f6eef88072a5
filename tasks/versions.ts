import { awsPreflight } from '../src/aws/stages/preflight.js';
import { PROFILE_OPTION } from '../src/aws/resources/profile-option.js';
import { formatNumber } from '../src/reporter/format.js';
import type { VersionRow } from '../src/aws/stages/versions.js';
import type { TaskDefinition } from '../src/task.js';

/** The versions as a text table: version, model, metric, published, commit, aliases. */
export function versionsTable(rows: readonly VersionRow[]): string[] {
  const cells = [['version', 'model', 'metric', 'published', 'commit', 'aliases'], ...rows.map((r) => [
    r.version,
    r.note ? (r.note.model ? `${r.note.model}@${r.note.modelVersion ?? '?'}` : '-') : '(not published by pipe)',
    r.note?.metric ? `${r.note.metric.name} ${formatNumber(r.note.metric.value)}` : '-',
    r.published ? r.published.replace(/\.\d+\+0000$/, 'Z').replace('T', ' ') : '-',
    r.note?.commit ?? '-',
    r.aliases.join(', ') || '-',
  ])];
  const widths = cells[0]!.map((_, c) => Math.max(...cells.map((r) => r[c]!.length)));
  return cells.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd());
}

export const versionsTask: TaskDefinition = {
  name: 'versions',
  description: "List the stage's published versions, newest first: model, metric, when, commit, aliases",
  dependencies: [],
  explicitOnly: true,
  options: { profile: PROFILE_OPTION },
  preflight: awsPreflight,
  async run(ctx) {
    const [{ withAwsClients }, { listVersions }] = await Promise.all([import('../src/aws/resources/task-clients.js'), import('../src/aws/stages/versions.js')]);
    const { functionName, rows } = await withAwsClients(ctx, (clients) => listVersions({ config: ctx.config, clients, reporter: ctx.reporter, signal: ctx.signal }));
    ctx.io.print(rows.length ? versionsTable(rows).join('\n') : `${functionName} has no published version`);
    const live = rows.find((r) => r.aliases.includes('live'));
    return { summary: `${rows.length} version(s) of ${functionName}${live ? `; live: ${live.version}` : ''}`, data: { functionName, versions: rows } };
  },
};
