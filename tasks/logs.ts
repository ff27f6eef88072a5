import { awsPreflight } from '../src/aws/preflight.js';
import { PROFILE_OPTION } from '../src/aws/profile-option.js';
import type { TaskDefinition } from '../src/task.js';

export const logsTask: TaskDefinition = {
  name: 'logs',
  description: 'Show the function logs from CloudWatch (--follow, --since)',
  dependencies: [],
  command: true,
  options: {
    profile: PROFILE_OPTION,
    since: { type: 'string', describe: 'How far back: 10m, 1h, 2d or an ISO date', default: '10m' },
    follow: { type: 'boolean', describe: 'Keep printing new events until Ctrl-C', default: false, alias: 'f' },
  },
  preflight: awsPreflight,
  async run(ctx) {
    const [{ checkCredentials }, { resourceNames }, { parseSince }, { printLogs }, { withAwsClients }] = await Promise.all([
      import('../src/aws/credentials.js'),
      import('../src/aws/names.js'),
      import('../src/aws/since.js'),
      import('../src/aws/stage-logs.js'),
      import('../src/aws/task-clients.js'),
    ]);
    const startTime = parseSince(typeof ctx.options.since === 'string' ? ctx.options.since : '10m');
    const count = await withAwsClients(ctx, async (clients) => {
      const identity = await checkCredentials(clients, ctx.signal);
      const names = resourceNames(ctx.config, identity.account);
      return printLogs(clients, { logGroup: names.logGroup, startTime, follow: ctx.options.follow === true, print: (l) => ctx.io.print(l), signal: ctx.signal });
    });
    return { summary: `${count} log event(s)` };
  },
};
