import { awsPreflight } from '../src/aws/stages/preflight.js';
import { PROFILE_OPTION } from '../src/aws/resources/profile-option.js';
import { parseSince } from '../src/cli/since.js';
import type { TaskDefinition } from '../src/task.js';

/**
 * `--since` as epoch milliseconds. A leading minus (`-5m`, as in "five minutes ago") means the same as
 * without it: the duration always counts back from now.
 */
export function sinceOption(options: Readonly<Record<string, unknown>>, fallback = '10m'): number {
  const value = typeof options.since === 'string' ? options.since.trim() : fallback;
  return parseSince(/^-(\d+[smhd])+$/.test(value) ? value.slice(1) : value);
}

export const logsTask: TaskDefinition = {
  name: 'logs',
  description: 'Show the function logs from CloudWatch (--follow, --since; --decisions: the decision trail as a table, or JSON lines with --json)',
  dependencies: [],
  explicitOnly: true,
  options: {
    profile: PROFILE_OPTION,
    since: { type: 'string', describe: 'How far back: 10m (or -10m), 1h, 2d, 1h30m, or an ISO date', default: '10m' },
    follow: { type: 'boolean', describe: 'Keep printing new events until Ctrl-C', default: false, alias: 'f' },
    decisions: { type: 'boolean', describe: 'Only the decision trail: time, request id, model version, decision, top reasons', default: false },
  },
  checkOptions: (options) => void sinceOption(options),
  preflight: awsPreflight,
  async run(ctx) {
    const [{ checkCredentials }, { resourceNames }, { printLogs }, { withAwsClients }, decisions, table] = await Promise.all([
      import('../src/aws/resources/credentials.js'),
      import('../src/aws/rules/names.js'),
      import('../src/aws/stages/logs.js'),
      import('../src/aws/resources/task-clients.js'),
      import('../src/audit/decision-line.js'),
      import('../src/audit/decision-table.js'),
    ]);
    const startTime = sinceOption(ctx.options);
    const onlyDecisions = ctx.options.decisions === true;
    // --json: each decision exactly as the function logged it (the run's JSON summary lists them as its output).
    const asJson = ctx.options.json === true;
    const count = await withAwsClients(ctx, async (clients) => {
      const identity = await checkCredentials(clients, ctx.signal);
      const names = resourceNames(ctx.config, identity.account);
      const common = { logGroup: names.logGroup, startTime, follow: ctx.options.follow === true, print: (l: string) => ctx.io.print(l), signal: ctx.signal };
      if (!onlyDecisions) return printLogs(clients, common);
      if (!asJson) ctx.io.print(table.decisionTableHeader());
      return printLogs(clients, {
        ...common,
        filterPattern: decisions.DECISION_FILTER_PATTERN,
        render: (event) => decisions.decisionsOfMessage(event.message ?? '').map(({ decision, raw }) => (asJson ? raw : table.decisionTableRow(decision))),
      });
    });
    return { summary: onlyDecisions ? `${count} decision(s)` : `${count} log event(s)` };
  },
};
