import { awsPreflight } from '../src/aws/stages/preflight.js';
import { PROFILE_OPTION } from '../src/aws/resources/profile-option.js';
import { UsageError } from '../src/errors.js';
import type { TaskDefinition } from '../src/task.js';

function toOption(options: Readonly<Record<string, unknown>>): string | undefined {
  const to = options.to;
  if (to === undefined) return undefined;
  if (typeof to !== 'number' || !Number.isInteger(to) || to < 1) throw new UsageError('ROLLBACK_BAD_OPTION', `--to must be a version number, got ${String(to)}`);
  return String(to);
}

export const rollbackTask: TaskDefinition = {
  name: 'rollback',
  description: 'Move live back to the version it served before (or --to N): smoke-tested first, nothing built or uploaded',
  dependencies: [],
  explicitOnly: true,
  options: {
    profile: PROFILE_OPTION,
    to: { type: 'number', describe: 'The version to go back to (default: the one live pointed at before)' },
  },
  checkOptions: (options) => void toOption(options),
  preflight: awsPreflight,
  async run(ctx) {
    const to = toOption(ctx.options);
    if (ctx.options.yes !== true) {
      if (!ctx.io.interactive) {
        throw new UsageError('CONFIRMATION_REQUIRED', `rollback would move live of stage "${ctx.config.stage}" to ${to ? `version ${to}` : 'the version before'}, and there is no terminal to confirm it`, { hint: 'Pass --yes to confirm.' });
      }
      if (!(await ctx.io.confirm(`Move live of stage "${ctx.config.stage}" back to ${to ? `version ${to}` : 'the version it served before'}?`))) {
        ctx.reporter.line('cancelled: live was not moved');
        return { summary: 'cancelled' };
      }
    }
    const [{ withAwsClients }, { rollbackStage }] = await Promise.all([import('../src/aws/resources/task-clients.js'), import('../src/aws/stages/versions.js')]);
    const result = await withAwsClients(ctx, (clients) => rollbackStage({ config: ctx.config, clients, reporter: ctx.reporter, signal: ctx.signal, ...(to ? { to } : {}) }));
    const model = result.note?.model ? `, model ${result.note.model}@${result.note.modelVersion ?? '?'}` : '';
    ctx.io.print(result.url);
    return {
      summary: `${result.url} (version ${result.version}${model}${result.changed ? `, was ${result.from}` : ', unchanged'})`,
      url: result.url,
      markdown: result.changed
        ? `**Rolled back:** live version ${result.from} -> ${result.version}${model}`
        : `**Rollback:** live already serves version ${result.version}${model}; nothing changed`,
      data: { version: result.version, from: result.from, changed: result.changed, ...(result.note ? { note: result.note } : {}) },
    };
  },
};
