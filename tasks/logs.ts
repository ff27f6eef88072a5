import { awsPreflight } from '../src/aws/preflight.js';
import { PROFILE_OPTION } from '../src/aws/profile-option.js';
import { parseSince } from '../src/aws/since.js';
import type { TaskDefinition } from '../src/task.js';

/**
 * `--since` as epoch milliseconds. A leading minus (`-5m`, as in "five minutes ago") means the same as
 * without it: the duration always counts back from now.
 */
function sinceOption(options: Readonly<Record<string, unknown>>): number {
  const value = typeof options.since === 'string' ? options.since.trim() : '10m';
  return parseSince(/^-(\d+[smhd])+$/.test(value) ? value.slice(1) : value);
}

export const logsTask: TaskDefinition = {
  name: 'logs',
  description: 'Show the function logs from CloudWatch (--follow, --since)',
  dependencies: [],
  command: true,
  options: {
    profile: PROFILE_OPTION,
    since: { type: 'string', describe: 'How far back: 10m (or -10m), 1h, 2d, 1h30m, or an ISO date', default: '10m' },
    follow: { type: 'boolean', describe: 'Keep printing new events until Ctrl-C', default: false, alias: 'f' },
  },
  checkOptions: (options) => void sinceOption(options),
  preflight: awsPreflight,
  async run(ctx) {
    const [{ checkCredentials }, { resourceNames }, { printLogs }, { withAwsClients }] = await Promise.all([
      import('../src/aws/credentials.js'),
      import('../src/aws/names.js'),
      import('../src/aws/stage-logs.js'),
      import('../src/aws/task-clients.js'),
    ]);
    const startTime = sinceOption(ctx.options);
    const count = await withAwsClients(ctx, async (clients) => {
      const identity = await checkCredentials(clients, ctx.signal);
      const names = resourceNames(ctx.config, identity.account);
      return printLogs(clients, { logGroup: names.logGroup, startTime, follow: ctx.options.follow === true, print: (l) => ctx.io.print(l), signal: ctx.signal });
    });
    return { summary: `${count} log event(s)` };
  },
};
