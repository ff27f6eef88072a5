import { awsPreflight } from '../src/aws/stages/preflight.js';
import { PROFILE_OPTION } from '../src/aws/resources/profile-option.js';
import { UsageError } from '../src/errors.js';
import type { TaskDefinition } from '../src/task.js';
import { sinceOption } from './logs.js';

function outOption(options: Readonly<Record<string, unknown>>): string {
  const out = options.out;
  if (typeof out !== 'string' || out.trim() === '') {
    throw new UsageError('OPTION_MISSING', 'audit needs --out FILE.csv: where to write the decisions', { hint: 'e.g. `npx pipe audit --since 30d --out decisions.csv`' });
  }
  return out;
}

export const auditTask: TaskDefinition = {
  name: 'audit',
  description: 'Export the decision trail from CloudWatch to a CSV file, one row per decision (--since 30d --out FILE.csv)',
  dependencies: [],
  explicitOnly: true,
  options: {
    profile: PROFILE_OPTION,
    since: { type: 'string', describe: 'How far back: 30d, 12h, or an ISO date', default: '30d' },
    out: { type: 'string', describe: 'CSV file to write (refused if it exists, unless --force)' },
  },
  checkOptions: (options) => {
    sinceOption(options, '30d');
    outOption(options);
  },
  // Before credentials: a file in the way is known without asking AWS anything.
  async preflight(ctx) {
    const { checkCsvTarget } = await import('../src/audit/decision-csv.js');
    checkCsvTarget(outOption(ctx.options), ctx.options.force === true);
    await awsPreflight(ctx);
  },
  async run(ctx) {
    const [{ checkCredentials }, { resourceNames }, { logEventPages }, { withAwsClients }, { isNotFound }, { decisionsOfMessage, DECISION_FILTER_PATTERN }, { exportDecisionsCsv }] =
      await Promise.all([
        import('../src/aws/resources/credentials.js'),
        import('../src/aws/rules/names.js'),
        import('../src/aws/stages/logs.js'),
        import('../src/aws/resources/task-clients.js'),
        import('../src/aws/rules/aws-errors.js'),
        import('../src/audit/decision-line.js'),
        import('../src/audit/decision-csv.js'),
      ]);
    const startTime = sinceOption(ctx.options, '30d');
    const file = outOption(ctx.options);
    const result = await withAwsClients(ctx, async (clients) => {
      const identity = await checkCredentials(clients, ctx.signal);
      const names = resourceNames(ctx.config, identity.account);
      const reading = ctx.reporter.step(`read decisions from ${names.logGroup} since ${new Date(startTime).toISOString()}`);
      let found = 0;
      let scanned = 0;
      try {
        const exported = await exportDecisionsCsv({
          file,
          force: ctx.options.force === true,
          signal: ctx.signal,
          async fill(add) {
            try {
              for await (const events of logEventPages(clients, { logGroup: names.logGroup, startTime, filterPattern: DECISION_FILTER_PATTERN, signal: ctx.signal })) {
                scanned += events.length;
                for (const event of events) {
                  for (const { decision } of decisionsOfMessage(event.message ?? '')) {
                    await add(decision);
                    found += 1;
                  }
                }
                reading.progress({ label: 'decisions read', current: found, unit: 'items' });
              }
            } catch (error) {
              // No log group: the function never ran (or its logs were removed). An empty export says so.
              if (!isNotFound(error) || ctx.signal.aborted) throw error;
              reading.line(`no log group ${names.logGroup}: no decisions to export`, 'warn');
            }
          },
        });
        reading.done(`${found} decision(s) in ${scanned} log event(s)`);
        return exported;
      } catch (error) {
        reading.fail(error);
        throw error;
      }
    });
    ctx.io.print(`${result.file}: ${result.rows} decision(s), ${result.columns.length} columns`);
    return { summary: `${result.rows} decision(s) -> ${result.file}` };
  },
};
