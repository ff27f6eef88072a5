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
    const [{ readLoggedDecisions }, { exportDecisionsCsv }] = await Promise.all([import('../src/audit/logged-decisions.js'), import('../src/audit/decision-csv.js')]);
    const startTime = sinceOption(ctx.options, '30d');
    const file = outOption(ctx.options);
    const result = await exportDecisionsCsv({ file, force: ctx.options.force === true, signal: ctx.signal, fill: async (add) => void (await readLoggedDecisions(ctx, startTime, add)) });
    ctx.io.print(`${result.file}: ${result.rows} decision(s), ${result.columns.length} columns`);
    return { summary: `${result.rows} decision(s) -> ${result.file}` };
  },
};
